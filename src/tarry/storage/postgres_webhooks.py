"""`WebhookStore` on PostgreSQL: a mixin of `PostgresStore`; each write is one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow

from tarry import errors
from tarry.storage import sqlfiles, webhook_sql

__all__ = ["PostgresWebhooks"]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]
_QUERIES = sqlfiles.load_queries("postgres")
# Only a query that returns rows may be fetched: its text says whether it does.
_RETURNS_ROWS = frozenset(
    name
    for name, text in _QUERIES.items()
    if text.lstrip().startswith("SELECT") or "RETURNING" in text
)
_UNIQUE = {"webhooks_slug_key": "slug", "webhooks_name_key": "name"}


class PostgresWebhooks(webhook_sql.WebhookSql):
    """The `WebhookStore` methods of `PostgresStore`."""

    def _transaction(self, op: Callable[[Conn], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def _webhook_write(self, op: Callable[[webhook_sql.Execute], T]) -> T:
        try:
            return self._transaction(lambda conn: op(_executor(conn)))
        except errors.StoreError as exc:
            # Two creations of one slug or name at once: the check passed for both,
            # the unique index refused the second.
            cause = exc.__cause__
            if isinstance(cause, psycopg.errors.UniqueViolation):
                what = _UNIQUE.get(cause.diag.constraint_name or "")
                if what is not None:
                    # "Key (slug)=(github) already exists."
                    value = (cause.diag.message_detail or "").partition("=(")[2].rpartition(")")[0]
                    raise errors.WebhookTaken(what, value or "?") from exc
            raise


def _executor(conn: Conn) -> webhook_sql.Execute:
    def execute(name: str, params: dict[str, Any]) -> list[DictRow]:
        cursor = conn.execute(_QUERIES[name], params)
        return cursor.fetchall() if name in _RETURNS_ROWS else []

    return execute
