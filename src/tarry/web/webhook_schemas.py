"""The REST API's bodies for inbound webhooks (`tarry.web.webhook_api`).

A webhook's secret is in no body but `WebhookCreatedOut`, the answer to making one
and to rotating its secret: it is shown once.
"""

from __future__ import annotations

import datetime as dt

import pydantic

from tarry.storage import events, webhooks

__all__ = [
    "SLUG_PATTERN",
    "WebhookCreatedOut",
    "WebhookIn",
    "WebhookOut",
    "WebhookReceivedOut",
    "WebhookUpdate",
]

SLUG_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
"""A slug: 1 to 100 letters, digits, `-` or `_`."""

_TEMPLATE = (
    "Jinja text rendering to the event's JSON object: `event` and `resource` (with "
    "`tarry.resource.id`), optional `related`, `payload`, `occurred`, `id`. It reads `body`, "
    "`headers`, `query`, `raw_body` and `method`; see docs/webhooks.md."
)


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


class WebhookIn(pydantic.BaseModel):
    """A webhook to make."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(min_length=1, max_length=200, description="Its name (unique).")
    template: str = pydantic.Field(min_length=1, max_length=100_000, description=_TEMPLATE)
    slug: str | None = pydantic.Field(
        None,
        pattern=SLUG_PATTERN,
        description="The URL's last part (unique); a random, unguessable one when omitted.",
    )
    description: str = pydantic.Field("", max_length=10_000, description="What it is for.")
    enabled: bool = pydantic.Field(True, description="Whether requests make events.")


class WebhookUpdate(pydantic.BaseModel):
    """Changes to a webhook: fields left out (or `null`) stay."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str | None = pydantic.Field(None, min_length=1, max_length=200, description="Its name.")
    template: str | None = pydantic.Field(
        None, min_length=1, max_length=100_000, description=_TEMPLATE
    )
    slug: str | None = pydantic.Field(
        None, pattern=SLUG_PATTERN, description="The URL's last part."
    )
    description: str | None = pydantic.Field(None, max_length=10_000, description="What it is for.")
    enabled: bool | None = pydantic.Field(None, description="Whether requests make events.")


class WebhookOut(pydantic.BaseModel):
    """A webhook, without its secret."""

    id: str = pydantic.Field(description="Its id.")
    name: str = pydantic.Field(description="Its name.")
    slug: str = pydantic.Field(description="The last part of its URL.")
    url: str = pydantic.Field(description="Where requests go: `POST` here.")
    description: str = pydantic.Field(description="What it is for.")
    template: str = pydantic.Field(description="The template.")
    enabled: bool = pydantic.Field(description="Whether requests make events.")
    created_at: dt.datetime = pydantic.Field(description="When it was made.")
    updated_at: dt.datetime = pydantic.Field(description="When it last changed.")

    @classmethod
    def of(cls, record: webhooks.WebhookRecord, url: str) -> WebhookOut:
        """The body of `record`, served at `url`."""
        return cls(
            id=record.id,
            name=record.name,
            slug=record.slug,
            url=url,
            description=record.description,
            template=record.template,
            enabled=record.enabled,
            created_at=_at(record.created_at),
            updated_at=_at(record.updated_at),
        )


class WebhookCreatedOut(WebhookOut):
    """A webhook just made, or whose secret was just rotated: with its secret, shown once."""

    secret: str = pydantic.Field(
        description="Send it as `X-Tarry-Webhook-Secret`, or sign the body with it "
        "(HMAC-SHA256, `X-Tarry-Webhook-Signature: sha256=<hex>`). It is not shown again."
    )

    @classmethod
    def made(cls, record: webhooks.WebhookRecord, url: str) -> WebhookCreatedOut:
        """The body of `record` with its secret."""
        return cls(**WebhookOut.of(record, url).model_dump(), secret=record.secret)


class WebhookReceivedOut(pydantic.BaseModel):
    """The event a request made."""

    id: str = pydantic.Field(description="The event's id.")
    event: str = pydantic.Field(description="The event's name.")
    resource_id: str = pydantic.Field(description="The event's `tarry.resource.id`.")

    @classmethod
    def of(cls, made: events.EventRecord) -> WebhookReceivedOut:
        """The body of `made`."""
        return cls(id=made.id, event=made.event, resource_id=made.resource_id)
