"""The `WebhookStore` protocol: inbound webhooks. Part of the `Store` union (`storage.port`)."""

from __future__ import annotations

from typing import Protocol

from tarry.storage import webhooks

__all__ = ["WebhookStore"]


class WebhookStore(Protocol):
    """Inbound webhooks: their slugs, templates and secrets."""

    def put_webhook(self, record: webhooks.WebhookRecord, *, create: bool) -> bool:
        """Create a webhook, or replace the one with `record.id` (but its `created_at`).

        Args:
            record: The webhook as it should be stored.
            create: Create it (`True`) or update an existing one (`False`).

        Returns:
            Whether it was written: `False`, and nothing changed, when `create` and a
            webhook has this id, or not `create` and none has.

        Raises:
            errors.WebhookTaken: Another webhook has this slug or name
                (nothing changed).
        """

    def get_webhook(self, key: str) -> webhooks.WebhookRecord | None:
        """The webhook with this id, else this slug, else this name.

        Args:
            key: Its id, slug or name.

        Returns:
            The webhook, or `None` when none has this id, slug or name.
        """

    def list_webhooks(self) -> list[webhooks.WebhookRecord]:
        """Every webhook, by name.

        Returns:
            The webhooks, enabled or not.
        """

    def delete_webhook(self, webhook_id: str) -> bool:
        """Delete a webhook (the events it made stay).

        Args:
            webhook_id: Its id.

        Returns:
            Whether it existed.
        """
