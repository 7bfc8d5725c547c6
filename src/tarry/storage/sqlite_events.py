"""`EventStore` on SQLite: a mixin of `SqliteStore`.

Events are stored by the single writer (group-committed with the other writes);
the built-in ones by the triggers of `0014_events.sql`, in the transaction of
their change. The writer is the only one to give out `seq`s, so they commit in
order and a reader following `events_after` never misses one. After each commit
the leader looks at the last `seq` given (one indexed read) and rings the bell
when it moved.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tarry.storage import event_sql, events, sqlfiles

__all__ = ["SqliteEvents"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqliteEvents(event_sql.EventReads):
    """The `EventStore` methods of `SqliteStore`."""

    _writer: sqlite3.Connection

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def _array(self, names: list[str]) -> Any:
        return json.dumps(names)

    def _event_bell(self) -> events.EventBell:
        if not hasattr(self, "_bell"):
            self._bell = events.EventBell()
            self._rung_seq = 0
        return self._bell

    def _after_commit(self) -> None:
        """Ring the bell if the commit stored events (called by the group commit's leader)."""
        bell = self._event_bell()
        try:
            row = self._writer.execute(_QUERIES["last_event_seq"]).fetchone()
        except sqlite3.Error:
            return  # not migrated yet: no events table, no events
        if row[0] > self._rung_seq:
            self._rung_seq = row[0]
            bell.ring()

    def add_events(self, items: Sequence[events.EventRecord], *, durable: bool = True) -> int:
        """See `Store.add_events`."""
        params = [events.to_params(item) for item in items]
        if not params:
            return 0
        add = _QUERIES["add_event"]
        return self._write(lambda conn: conn.executemany(add, params).rowcount, durable)

    def events_after(self, seq: int, limit: int) -> list[events.EventRecord]:
        """See `Store.events_after`."""
        rows = self._read("events_after", {"after": seq, "limit": limit})
        return [events.from_row(row) for row in rows]

    def delete_events_before(self, occurred: float, limit: int) -> int:
        """See `Store.delete_events_before`."""
        params = {"before": occurred, "limit": limit}
        query = _QUERIES["delete_events_before"]
        # Lazy: a sweep lost to a power cut is swept again.
        return self._write(lambda conn: conn.execute(query, params).rowcount, durable=False)

    def subscribe_events(self, callback: Callable[[], None]) -> Callable[[], None]:
        """See `Store.subscribe_events`: this process's commits ring; other processes poll."""
        return self._event_bell().subscribe(callback)
