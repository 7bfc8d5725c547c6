"""What both SQL stores share of `EventStore`: the filter's parameters and the reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tarry.storage import events

__all__ = ["EventReads", "filter_params"]

_TOP = "\U0010ffff"
"""Above every character: `prefix <= id < prefix + _TOP` is a prefix match on an index."""


def filter_params(where: events.EventFilter, array: Callable[[list[str]], Any]) -> dict[str, Any]:
    """Parameters of `list_events_newest` / `list_events_oldest` that select what `where` asks.

    Args:
        where: Which events.
        array: How the dialect sends a list of strings (SQLite: JSON text; PostgreSQL: a list).
    """
    resource = where.resource_id
    prefix = resource[:-1] if resource is not None and resource.endswith("*") else None
    return {
        "any_name": not where.names,
        "exact": array(where.exact_names),
        "prefixes": array(where.name_prefixes),
        "resource_id": resource if prefix is None else None,
        "resource_low": prefix,
        "resource_high": None if prefix is None else prefix + _TOP,
        "related_id": where.related_id,
        "since": where.since,
        "until": where.until,
        "before_seq": where.before_seq,
        "after_seq": where.after_seq,
        "limit": where.limit,
    }


class EventReads:
    """`list_events` and `last_event_seq`, one named query each."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def _array(self, names: list[str]) -> Any:
        raise NotImplementedError

    def list_events(self, where: events.EventFilter) -> list[events.EventRecord]:
        """See `Store.list_events`."""
        query = "list_events_newest" if where.after_seq is None else "list_events_oldest"
        rows = self._read(query, filter_params(where, self._array))
        return [events.from_row(row) for row in rows]

    def last_event_seq(self) -> int:
        """See `Store.last_event_seq`."""
        return int(self._read("last_event_seq", {})[0]["seq"])
