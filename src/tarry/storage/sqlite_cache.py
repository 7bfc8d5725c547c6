"""`CacheStore` on SQLite: a mixin of `SqliteStore`.

A store is one write of the single writer (group-committed with the others); the
read goes to a reader connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from tarry.storage import cache_rows, records, sqlfiles

__all__ = ["SqliteCache"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqliteCache(cache_rows.CacheReads):
    """The `CacheStore` methods of `SqliteStore`."""

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def put_cached(self, entry: records.CacheEntry) -> None:
        """See `Store.put_cached`."""
        params = cache_rows.entry_params(entry)
        self._write(lambda conn: conn.execute(_QUERIES["put_cached"], params))
