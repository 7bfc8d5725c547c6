"""`CacheStore` on PostgreSQL: a mixin of `PostgresStore`.

A store is one upsert in its own transaction: of two processes storing one key at
once, the later commit's row stays, whole.
"""

from __future__ import annotations

from typing import Any

from tarry.storage import cache_rows, records

__all__ = ["PostgresCache"]


class PostgresCache(cache_rows.CacheReads):
    """The `CacheStore` methods of `PostgresStore`."""

    def _write(self, query: str, params: dict[str, Any]) -> int:
        raise NotImplementedError

    def put_cached(self, entry: records.CacheEntry) -> None:
        """See `Store.put_cached`."""
        self._write("put_cached", cache_rows.entry_params(entry))
