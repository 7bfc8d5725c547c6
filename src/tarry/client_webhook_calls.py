"""The pure core of the clients' webhook methods: the calls they send.

As in `tarry.client_calls`, no I/O here: each `*_call` function builds the `Call`
that `tarry.client_webhooks` sends from `Client` and from `AsyncClient`. A webhook
is named by its id, slug or name; a 404 raises `errors.NotFound` with the server's
reason, a refused template `errors.TarryError` with it (HTTP 422, nothing made).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from tarry import _lazy
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry.web import webhook_schemas
else:
    # The API models cost milliseconds to import: the client pays on first use.
    webhook_schemas = _lazy.Lazy("tarry.web.webhook_schemas")

__all__ = [
    "create_webhook_call",
    "delete_webhook_call",
    "rotate_secret_call",
    "set_enabled_call",
    "update_webhook_call",
    "webhook_call",
    "webhooks_call",
]

_PATH = "webhooks"


def _path(key: str, rest: str = "") -> str:
    return f"{_PATH}/{urllib.parse.quote(key, safe='')}{rest}"


def _webhook(body: Any) -> webhook_schemas.WebhookOut:
    return webhook_schemas.WebhookOut.model_validate(body)


def _created(body: Any) -> webhook_schemas.WebhookCreatedOut:
    return webhook_schemas.WebhookCreatedOut.model_validate(body)


def _webhooks(body: Any) -> list[webhook_schemas.WebhookOut]:
    return [webhook_schemas.WebhookOut.model_validate(item) for item in body]


def _nothing(_body: Any) -> None:
    return None


def webhooks_call() -> Call[list[webhook_schemas.WebhookOut]]:
    """The call of `Client.read_webhooks`."""
    return Call("GET", _PATH, _webhooks)


def webhook_call(key: str) -> Call[webhook_schemas.WebhookOut]:
    """The call of `Client.read_webhook`."""
    return Call("GET", _path(key), _webhook)


def create_webhook_call(
    name: str, template: str, *, slug: str | None, description: str, enabled: bool
) -> Call[webhook_schemas.WebhookCreatedOut]:
    """The call of `Client.create_webhook`."""
    body: dict[str, Any] = {
        "name": name,
        "template": template,
        "description": description,
        "enabled": enabled,
    }
    if slug is not None:
        body["slug"] = slug
    return Call("POST", _PATH, _created, body=body)


def update_webhook_call(key: str, **changes: Any) -> Call[webhook_schemas.WebhookOut]:
    """The call of `Client.update_webhook`: what is `None` stays."""
    body = {field: value for field, value in changes.items() if value is not None}
    return Call("PATCH", _path(key), _webhook, body=body)


def set_enabled_call(key: str, enabled: bool) -> Call[webhook_schemas.WebhookOut]:
    """The call of `Client.enable_webhook` and `Client.disable_webhook`."""
    return Call("POST", _path(key, "/enable" if enabled else "/disable"), _webhook)


def rotate_secret_call(key: str) -> Call[webhook_schemas.WebhookCreatedOut]:
    """The call of `Client.rotate_webhook_secret`."""
    return Call("POST", _path(key, "/rotate-secret"), _created)


def delete_webhook_call(key: str) -> Call[None]:
    """The call of `Client.delete_webhook`."""
    return Call("DELETE", _path(key), _nothing)
