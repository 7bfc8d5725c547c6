"""`WebhookStore` in memory: a mixin of `MemoryStore`, deciding as the SQL stores do."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from tarry import errors, interrupts
from tarry.storage import webhooks

__all__ = ["MemoryWebhooks"]


class MemoryWebhooks:
    """The `WebhookStore` methods of `MemoryStore`."""

    _lock: interrupts.ShieldedLock

    def _check_open(self) -> None:
        raise NotImplementedError

    def _webhooks(self) -> dict[str, webhooks.WebhookRecord]:
        if not hasattr(self, "_webhook_data"):
            self._webhook_data: dict[str, webhooks.WebhookRecord] = {}
        return self._webhook_data

    def put_webhook(self, record: webhooks.WebhookRecord, *, create: bool) -> bool:
        """See `Store.put_webhook`."""
        with self._lock:
            self._check_open()
            stored = self._webhooks()
            known = stored.get(record.id)
            if (known is not None) == create:
                return False
            _check_unique(record, stored.values())
            if known is not None:
                record = dataclasses.replace(record, created_at=known.created_at)
            stored[record.id] = record
            return True

    def get_webhook(self, key: str) -> webhooks.WebhookRecord | None:
        """See `Store.get_webhook`."""
        with self._lock:
            self._check_open()
            stored = self._webhooks()
            if key in stored:
                return stored[key]
            for field in ("slug", "name"):
                found = [w for w in stored.values() if getattr(w, field) == key]
                if found:
                    return found[0]
            return None

    def list_webhooks(self) -> list[webhooks.WebhookRecord]:
        """See `Store.list_webhooks`."""
        with self._lock:
            self._check_open()
            return sorted(self._webhooks().values(), key=lambda w: w.name)

    def delete_webhook(self, webhook_id: str) -> bool:
        """See `Store.delete_webhook`."""
        with self._lock:
            self._check_open()
            return self._webhooks().pop(webhook_id, None) is not None


def _check_unique(record: webhooks.WebhookRecord, stored: Iterable[webhooks.WebhookRecord]) -> None:
    for other in stored:
        if other.id == record.id:
            continue
        if other.slug == record.slug:
            raise errors.WebhookTaken("slug", record.slug)
        if other.name == record.name:
            raise errors.WebhookTaken("name", record.name)
