"""`CacheStore` in memory: a mixin of `MemoryStore`."""

from __future__ import annotations

from tarry import interrupts
from tarry.storage import records

__all__ = ["MemoryCache"]


class MemoryCache:
    """The `CacheStore` methods of `MemoryStore`."""

    _lock: interrupts.ShieldedLock

    def _check_open(self) -> None:
        raise NotImplementedError

    def _cache(self) -> dict[str, records.CacheEntry]:
        if not hasattr(self, "_cache_entries"):
            self._cache_entries: dict[str, records.CacheEntry] = {}
        return self._cache_entries

    def put_cached(self, entry: records.CacheEntry) -> None:
        """See `Store.put_cached`."""
        with self._lock:
            self._check_open()
            self._cache()[entry.key] = entry

    def get_cached(self, key: str, now: float) -> records.CacheEntry | None:
        """See `Store.get_cached`."""
        with self._lock:
            self._check_open()
            entry = self._cache().get(key)
        if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
            return None
        return entry
