"""Inbound webhooks as stored: a slug, a template that makes an event, a secret.

Storage reads neither the template nor the secret: the template is Jinja text that
`tarry.triggers.webhooks` renders, and the secret is compared by
`tarry.webhook_service`. What storage guarantees is that slugs and names are unique.

The secret is stored as it is, not hashed: checking an HMAC signature of a request's
body needs the key itself. Whoever reads the database can write events directly, so
the secret guards the URL, not the store; the API shows it only when it is made.
"""

from __future__ import annotations

import dataclasses

__all__ = ["WebhookRecord"]


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRecord:
    """One inbound webhook."""

    id: str
    """Its id (a uuid's text)."""
    slug: str
    """The last part of its URL, `/api/webhooks/<slug>` (unique)."""
    name: str
    """What people call it (unique)."""
    description: str
    """What it is for."""
    template: str
    """Jinja text rendering to the event's JSON object."""
    secret: str
    """What a request must carry (or sign its body with)."""
    enabled: bool
    """Whether requests make events."""
    created_at: float
    """When it was made (seconds since the epoch)."""
    updated_at: float
    """When it last changed."""
