"""Webhooks on both SQL stores: rows, reads and writes by named query.

`SqliteStore` and `PostgresStore` inherit `WebhookSql` through their mixins
(`sqlite_webhooks`, `postgres_webhooks`), which run a write in one transaction of
their dialect; the named queries of `sql/<dialect>/webhooks.sql` have the same
names and columns in both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tarry import errors
from tarry.storage import webhooks

__all__ = ["Execute", "WebhookSql", "webhook_from_row"]

T = TypeVar("T")

Execute = Callable[[str, dict[str, Any]], Sequence[Any]]
"""Runs a named query with parameters; returns rows that read by column name."""


def webhook_from_row(row: Any) -> webhooks.WebhookRecord:
    """The webhook a `webhooks` row holds."""
    fields = {f.name: row[f.name] for f in dataclasses.fields(webhooks.WebhookRecord)}
    return webhooks.WebhookRecord(**{**fields, "enabled": bool(row["enabled"])})


class WebhookSql:
    """The `WebhookStore` methods of both SQL stores."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def _webhook_write(self, op: Callable[[Execute], T]) -> T:
        raise NotImplementedError

    def put_webhook(self, record: webhooks.WebhookRecord, *, create: bool) -> bool:
        """See `Store.put_webhook`."""
        params = dataclasses.asdict(record)

        def op(execute: Execute) -> bool:
            if bool(execute("webhook_exists", {"id": record.id})) == create:
                return False
            for taken in execute("webhook_taken", params):
                what = "slug" if taken["slug"] == record.slug else "name"
                raise errors.WebhookTaken(what, getattr(record, what))
            return bool(execute("insert_webhook" if create else "update_webhook", params))

        return self._webhook_write(op)

    def get_webhook(self, key: str) -> webhooks.WebhookRecord | None:
        """See `Store.get_webhook`."""
        rows = self._read("get_webhook", {"key": key})
        return webhook_from_row(rows[0]) if rows else None

    def list_webhooks(self) -> list[webhooks.WebhookRecord]:
        """See `Store.list_webhooks`."""
        return [webhook_from_row(row) for row in self._read("list_webhooks", {})]

    def delete_webhook(self, webhook_id: str) -> bool:
        """See `Store.delete_webhook`."""
        return self._webhook_write(lambda ex: bool(ex("delete_webhook", {"id": webhook_id})))
