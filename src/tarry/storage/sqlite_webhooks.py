"""`WebhookStore` on SQLite: a mixin of `SqliteStore`; each write is one group-committed op."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from tarry.storage import sqlfiles, webhook_sql

__all__ = ["SqliteWebhooks"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqliteWebhooks(webhook_sql.WebhookSql):
    """The `WebhookStore` methods of `SqliteStore`."""

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def _webhook_write(self, op: Callable[[webhook_sql.Execute], T]) -> T:
        return self._write(lambda conn: op(_executor(conn)))


def _executor(conn: sqlite3.Connection) -> webhook_sql.Execute:
    return lambda name, params: conn.execute(_QUERIES[name], params).fetchall()
