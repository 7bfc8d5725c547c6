"""Inbound webhooks for the interfaces: make, read, change and delete them; receive requests.

A webhook is a slug URL (`POST /api/webhooks/<slug>`), a template that turns the
request into an event (`tarry.triggers.webhooks`), and a secret. `receive` checks,
in this order:

1. a webhook has the slug (else `WebhookNotFound`, 404);
2. the request carries its secret in `X-Tarry-Webhook-Secret`, or signs its raw body
   with it, HMAC-SHA256 as `sha256=<hex>` in `X-Tarry-Webhook-Signature` (or
   GitHub's `X-Hub-Signature-256`); both compared in constant time (none sent:
   `WebhookSecretMissing`, 401; a wrong one: `WebhookSecretWrong`, 403);
3. it is enabled (else `WebhookDisabled`, 409: only a sender that knows the secret
   learns that it is disabled);
4. the body fits the template and makes a valid event (else `WebhookRefused`, 422);

and then stores the event with `add_events` and returns it. The event relates to the
webhook (`tarry.webhook.<id>`, role `webhook`). Nothing is stored when a step refuses.

The secret is made here (`secrets.token_urlsafe`), shown once by the interfaces (at
creation and rotation) and stored as it is: see `tarry.storage.webhooks` for why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping

from tarry import boundary, errors, host
from tarry.storage import events, webhooks
from tarry.triggers import webhooks as templates

__all__ = [
    "SECRET_HEADER",
    "SIGNATURE_HEADERS",
    "check_secret",
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "list_webhooks",
    "receive",
    "rotate_secret",
    "set_enabled",
    "update_webhook",
]

SECRET_HEADER = "x-tarry-webhook-secret"  # noqa: S105 (a header's name, not a secret)
"""The header that carries a webhook's secret as it is."""
SIGNATURE_HEADERS = ("x-tarry-webhook-signature", "x-hub-signature-256")
"""Headers that carry `sha256=<hex>`, the HMAC-SHA256 of the raw body keyed by the secret."""

_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_MAX_NAME = 200


def _host(hst: host.Host | None) -> host.Host:
    return hst or host.get_host()


def _checked_template(template: str) -> str:
    try:
        templates.check(template)
    except ValueError as error:
        raise errors.WebhookRefused(str(error)) from None
    return template


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_NAME or not boundary.may_exist(name):
        raise errors.WebhookRefused(
            f"a webhook's name is 1 to {_MAX_NAME} characters (not blank, no NUL)"
        )
    return name


def _checked_slug(slug: str | None) -> str:
    if slug is None:
        return secrets.token_urlsafe(16)
    if not _SLUG.match(slug):
        raise errors.WebhookRefused(f"slug {slug!r}: use 1 to 100 letters, digits, `-` or `_`")
    return slug


def create_webhook(
    name: str,
    template: str,
    *,
    slug: str | None = None,
    description: str = "",
    enabled: bool = True,
    hst: host.Host | None = None,
) -> webhooks.WebhookRecord:
    """Make a webhook with a new secret (the record holds it: show it once).

    Args:
        name: What people call it (unique).
        template: Jinja text rendering to the event's JSON object.
        slug: The URL's last part (unique); a random, unguessable one when omitted.
        description: What it is for.
        enabled: Whether requests make events from the start.
        hst: The host; the current one when omitted.

    Returns:
        The webhook, its `secret` among its fields.

    Raises:
        errors.WebhookRefused: The template does not compile or make a valid
            event, or the name or slug cannot be one (nothing is made).
        errors.WebhookTaken: Another webhook has this slug or name.
    """
    hst = _host(hst)
    boundary.check(hst.settings, description=description, template=template)
    now = hst.clock.now()
    record = webhooks.WebhookRecord(
        id=str(uuid.uuid4()),
        slug=_checked_slug(slug),
        name=_checked_name(name),
        description=description,
        template=_checked_template(template),
        secret=secrets.token_urlsafe(24),
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    hst.store.put_webhook(record, create=True)
    return record


def list_webhooks(*, hst: host.Host | None = None) -> list[webhooks.WebhookRecord]:
    """Every webhook, by name."""
    return _host(hst).store.list_webhooks()


def get_webhook(key: str, *, hst: host.Host | None = None) -> webhooks.WebhookRecord:
    """The webhook with this id, slug or name.

    Raises:
        errors.WebhookNotFound: None has it.
    """
    found = _host(hst).store.get_webhook(key) if boundary.may_exist(key) else None
    if found is None:
        raise errors.WebhookNotFound(key)
    return found


def update_webhook(
    key: str,
    *,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    template: str | None = None,
    enabled: bool | None = None,
    hst: host.Host | None = None,
) -> webhooks.WebhookRecord:
    """Change a webhook's fields; those left `None` stay. A new template is checked first.

    Raises:
        errors.WebhookNotFound: No webhook has this id, slug or name.
        errors.WebhookRefused: The new template, name or slug is refused.
        errors.WebhookTaken: Another webhook has the new slug or name.
    """
    hst = _host(hst)
    found = get_webhook(key, hst=hst)
    boundary.check(hst.settings, description=description, template=template)
    changes: dict[str, object] = {"updated_at": hst.clock.now()}
    if name is not None:
        changes["name"] = _checked_name(name)
    if slug is not None:
        changes["slug"] = _checked_slug(slug)
    if template is not None:
        changes["template"] = _checked_template(template)
    if description is not None:
        changes["description"] = description
    if enabled is not None:
        changes["enabled"] = enabled
    return _put(dataclasses.replace(found, **changes), hst)  # type: ignore[arg-type]


def _put(record: webhooks.WebhookRecord, hst: host.Host) -> webhooks.WebhookRecord:
    if not hst.store.put_webhook(record, create=False):
        raise errors.WebhookNotFound(record.id)  # deleted meanwhile
    return record


def set_enabled(key: str, enabled: bool, *, hst: host.Host | None = None) -> webhooks.WebhookRecord:
    """Enable or disable a webhook.

    Raises:
        errors.WebhookNotFound: No webhook has this id, slug or name.
    """
    return update_webhook(key, enabled=enabled, hst=hst)


def rotate_secret(key: str, *, hst: host.Host | None = None) -> webhooks.WebhookRecord:
    """Give a webhook a new secret; the old one stops working at once.

    Returns:
        The webhook with its new `secret` (show it once).

    Raises:
        errors.WebhookNotFound: No webhook has this id, slug or name.
    """
    hst = _host(hst)
    found = get_webhook(key, hst=hst)
    now = hst.clock.now()
    return _put(dataclasses.replace(found, secret=secrets.token_urlsafe(24), updated_at=now), hst)


def delete_webhook(key: str, *, hst: host.Host | None = None) -> None:
    """Delete a webhook; the events it made stay.

    Raises:
        errors.WebhookNotFound: No webhook has this id, slug or name.
    """
    hst = _host(hst)
    if not hst.store.delete_webhook(get_webhook(key, hst=hst).id):
        raise errors.WebhookNotFound(key)


def check_secret(record: webhooks.WebhookRecord, raw: bytes, headers: Mapping[str, str]) -> None:
    """Refuse a request that carries neither the webhook's secret nor its body's signature.

    Args:
        record: The webhook.
        raw: The request's body.
        headers: Its headers, names in lower case.

    Raises:
        errors.WebhookSecretMissing: Neither is sent.
        errors.WebhookSecretWrong: What is sent is wrong.
    """
    key = record.secret.encode()
    sent = headers.get(SECRET_HEADER)
    if sent is not None:
        if not hmac.compare_digest(sent.encode(), key):
            raise errors.WebhookSecretWrong(record.slug)
        return
    signature = next((headers[h] for h in SIGNATURE_HEADERS if h in headers), None)
    if signature is None:
        raise errors.WebhookSecretMissing(record.slug)
    expected = "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        raise errors.WebhookSecretWrong(record.slug)


def receive(
    slug: str,
    raw: bytes,
    *,
    headers: Mapping[str, str],
    query: Mapping[str, str] | None = None,
    method: str = "POST",
    hst: host.Host | None = None,
) -> events.EventRecord:
    """Turn one request to `/api/webhooks/<slug>` into a stored event (see the module).

    Args:
        slug: The webhook's slug.
        raw: The request's body.
        headers: Its headers (any case).
        query: Its URL's query fields.
        method: Its HTTP method.
        hst: The host; the current one when omitted.

    Returns:
        The event (sent again with the same `id`, it is stored once).

    Raises:
        errors.WebhookNotFound: No webhook has this slug.
        errors.WebhookSecretMissing: No secret or signature is sent.
        errors.WebhookSecretWrong: The secret or signature is wrong.
        errors.WebhookDisabled: The webhook is disabled.
        errors.WebhookRefused: The request does not fit the template.
        errors.ValueRefused: The event holds what tarry cannot store (a NUL, ...).
    """
    hst = _host(hst)
    record = _by_slug(slug, hst)
    lowered = {name.lower(): value for name, value in headers.items()}
    check_secret(record, raw, lowered)
    if not record.enabled:
        raise errors.WebhookDisabled(slug)
    made = _event(record, _request(raw, lowered, query or {}, method), hst)
    hst.store.add_events([made])
    return made


def _by_slug(slug: str, hst: host.Host) -> webhooks.WebhookRecord:
    found = hst.store.get_webhook(slug) if _SLUG.match(slug) else None
    if found is None or found.slug != slug:
        raise errors.WebhookNotFound(slug)
    return found


def _request(
    raw: bytes, headers: Mapping[str, str], query: Mapping[str, str], method: str
) -> templates.WebhookRequest:
    try:
        body, text = templates.parse_body(raw, headers.get("content-type", ""))
    except ValueError as error:
        raise errors.WebhookRefused(str(error)) from None
    shown = {k: v for k, v in headers.items() if k not in templates.HIDDEN_HEADERS}
    return templates.WebhookRequest(body, shown, dict(query), text, method.upper())


def _event(
    record: webhooks.WebhookRecord, request: templates.WebhookRequest, hst: host.Host
) -> events.EventRecord:
    try:
        rendered = templates.render(record.template, request)
    except ValueError as error:
        raise errors.WebhookRefused(str(error)) from None
    webhook = {
        events.RESOURCE_ID: f"tarry.webhook.{record.id}",
        events.RESOURCE_ROLE: "webhook",
        events.RESOURCE_NAME: record.name,
    }
    made = {
        "event": rendered.event,
        "resource": rendered.resource,
        "related": [*rendered.related, webhook],
        "payload": rendered.payload,
    }
    boundary.check(hst.settings, "the event", made, id=rendered.id)
    now = hst.clock.now()
    return events.EventRecord(
        id=rendered.id or str(uuid.uuid4()),
        occurred=rendered.occurred if rendered.occurred is not None else now,
        event=rendered.event,
        resource=rendered.resource,
        related=(*rendered.related, webhook),
        payload=rendered.payload,
        received=now,
    )
