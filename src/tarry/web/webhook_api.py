"""Inbound webhooks over HTTP: `POST /api/webhooks/{slug}`, and their admin routes.

`POST /api/webhooks/{slug}` is for machines outside: it needs no API token, no login
and no CSRF token, because the webhook's own secret guards it (see
`tarry.webhook_service.receive` for the order of the checks: 404 unknown slug, 401 no
secret, 403 a wrong one, 409 disabled, 422 a body that does not fit the template).
It answers 202 with the event's id.

The admin routes (`GET`/`POST /api/webhooks`, `GET`/`PATCH`/`DELETE
/api/webhooks/{key}`, `POST .../enable`, `.../disable`, `.../rotate-secret`) need the
API token when the server has one, as every other API route does. `key` is a
webhook's id, slug or name. A template that does not compile or make a valid event
is a 422 and nothing is made; a slug or name taken, a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from tarry import host, webhook_service
from tarry.storage import webhooks
from tarry.web import api
from tarry.web.schemas import ErrorOut
from tarry.web.webhook_schemas import (
    SLUG_PATTERN,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookReceivedOut,
    WebhookUpdate,
)

__all__ = ["admin", "inbound"]

_REASONS = {
    400: "The body cannot be read.",
    401: "Neither the webhook's secret nor a signature of the body is sent.",
    403: "The secret or the signature is wrong.",
    404: "No webhook has this slug (or id, slug or name on the admin routes).",
    409: "The webhook is disabled (on receive), or the slug or name is taken.",
    413: "The request body is over the server's limit (`TARRY_MAX_BODY_BYTES`).",
    422: "The template does not compile or make a valid event, or the request does not fit it.",
}


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _REASONS[code]} for code in codes}


inbound = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
admin = APIRouter(
    prefix="/api/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(api.require_token)],
    responses=api.ERROR_RESPONSES,
)

Key = Annotated[
    str, Path(min_length=1, max_length=300, description="The webhook's id, slug or name.")
]
_ANY_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": {}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


def _url(request: Request, record: webhooks.WebhookRecord) -> str:
    return str(request.url_for("receive_webhook", slug=record.slug))


@inbound.post(
    "/{slug}",
    status_code=202,
    summary="Send a request to a webhook",
    name="receive_webhook",
    responses=_doc(400, 401, 403, 404, 409, 413, 422),
    openapi_extra=_ANY_BODY,
)
async def receive_webhook(
    request: Request,
    slug: Annotated[str, Path(pattern=SLUG_PATTERN, description="The webhook's slug.")],
    x_tarry_webhook_secret: Annotated[
        str | None, Header(description="The webhook's secret.")
    ] = None,
    x_tarry_webhook_signature: Annotated[
        str | None,
        Header(description="`sha256=<hex>`: HMAC-SHA256 of the body keyed by the secret."),
    ] = None,
) -> WebhookReceivedOut:
    """Turns the request (JSON, form-encoded or text) into an event through the template.

    Send the secret, or sign the raw body (GitHub's `X-Hub-Signature-256` is read too).
    Nothing is stored unless the answer is 202.
    """
    del x_tarry_webhook_secret, x_tarry_webhook_signature  # read with the other headers
    raw = await request.body()
    made = await run_in_threadpool(
        webhook_service.receive,
        slug,
        raw,
        headers=dict(request.headers),
        query=dict(request.query_params),
        method=request.method,
        hst=_host(request),
    )
    return WebhookReceivedOut.of(made)


@admin.get("", summary="List webhooks")
async def list_webhooks(request: Request) -> list[WebhookOut]:
    """Every webhook by name, without secrets."""
    found = await run_in_threadpool(webhook_service.list_webhooks, hst=_host(request))
    return [WebhookOut.of(record, _url(request, record)) for record in found]


@admin.post("", status_code=201, summary="Make a webhook", responses=_doc(400, 409))
async def create_webhook(request: Request, body: WebhookIn) -> WebhookCreatedOut:
    """Makes the webhook; the answer holds its secret, which is not shown again."""
    made = await run_in_threadpool(
        webhook_service.create_webhook,
        body.name,
        body.template,
        slug=body.slug,
        description=body.description,
        enabled=body.enabled,
        hst=_host(request),
    )
    return WebhookCreatedOut.made(made, _url(request, made))


@admin.get("/{key}", summary="One webhook", responses=_doc(404))
async def get_webhook(request: Request, key: Key) -> WebhookOut:
    """The webhook, without its secret."""
    found = await run_in_threadpool(webhook_service.get_webhook, key, hst=_host(request))
    return WebhookOut.of(found, _url(request, found))


@admin.patch("/{key}", summary="Change a webhook", responses=_doc(400, 404, 409))
async def update_webhook(request: Request, key: Key, body: WebhookUpdate) -> WebhookOut:
    """Fields left out stay; a new template is checked as when made."""
    changed = await run_in_threadpool(
        webhook_service.update_webhook,
        key,
        name=body.name,
        slug=body.slug,
        description=body.description,
        template=body.template,
        enabled=body.enabled,
        hst=_host(request),
    )
    return WebhookOut.of(changed, _url(request, changed))


@admin.post("/{key}/enable", summary="Enable a webhook", responses=_doc(404))
async def enable_webhook(request: Request, key: Key) -> WebhookOut:
    """Requests make events again."""
    found = await run_in_threadpool(webhook_service.set_enabled, key, True, hst=_host(request))
    return WebhookOut.of(found, _url(request, found))


@admin.post("/{key}/disable", summary="Disable a webhook", responses=_doc(404))
async def disable_webhook(request: Request, key: Key) -> WebhookOut:
    """Requests are answered 409 and make no event until it is enabled."""
    found = await run_in_threadpool(webhook_service.set_enabled, key, False, hst=_host(request))
    return WebhookOut.of(found, _url(request, found))


@admin.post("/{key}/rotate-secret", summary="Rotate a webhook's secret", responses=_doc(404))
async def rotate_secret(request: Request, key: Key) -> WebhookCreatedOut:
    """Gives it a new secret, shown in the answer once; the old one stops working."""
    found = await run_in_threadpool(webhook_service.rotate_secret, key, hst=_host(request))
    return WebhookCreatedOut.made(found, _url(request, found))


@admin.delete("/{key}", status_code=204, summary="Delete a webhook", responses=_doc(404))
async def delete_webhook(request: Request, key: Key) -> Response:
    """Deletes it; the events it made stay."""
    await run_in_threadpool(webhook_service.delete_webhook, key, hst=_host(request))
    return Response(status_code=204)
