"""The task cache on both SQL stores: its rows and the read they share.

`SqliteStore` and `PostgresStore` inherit `CacheReads`; each writes with the
named query `put_cached` of its dialect (`sql/<dialect>/cache.sql`), one upsert
whose row is whole whichever of two writers of a key commits last.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tarry.storage import records

__all__ = ["CacheReads", "entry_from_row", "entry_params"]


def entry_params(entry: records.CacheEntry) -> dict[str, Any]:
    """Query parameters of a cache entry."""
    return dataclasses.asdict(entry)


def entry_from_row(row: Any) -> records.CacheEntry:
    """The entry a `task_cache` row holds."""
    return records.CacheEntry(
        **{f.name: row[f.name] for f in dataclasses.fields(records.CacheEntry)}
    )


class CacheReads:
    """The `CacheStore` read both SQL stores make by one named query."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def get_cached(self, key: str, now: float) -> records.CacheEntry | None:
        """See `Store.get_cached`."""
        rows = self._read("get_cached", {"key": key, "now": now})
        return entry_from_row(rows[0]) if rows else None
