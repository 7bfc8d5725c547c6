"""`EventStore` on PostgreSQL: a mixin of `PostgresStore`.

The built-in events are written by the triggers of `0014_events.sql`, once per
statement, in the transaction of their change; every transaction that stores
events sends one notification on channel `tarry_events`, which rings the bell of
every process that follows events (`subscribe_events`), this one included.

Transactions may commit their events out of `seq` order, so `events_after`
returns only events below the *horizon* (`events.Horizon`): every writer holds a
shared lock from before it takes a `seq` until it commits, and a `seq` given out
while nobody held it, or once every holder seen then is gone, is final.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow

from tarry.storage import event_sql, events, wakeups
from tarry.storage import postgres_ops as ops
from tarry.storage.postgres_listen import Listener

__all__ = ["PostgresEvents"]

Conn = psycopg.Connection[DictRow]


class PostgresEvents(event_sql.EventReads):
    """The `EventStore` methods of `PostgresStore`."""

    _listener: Listener

    def _connection(self) -> contextlib.AbstractContextManager[Conn]:
        raise NotImplementedError

    def _transaction(self, op: Callable[[Conn], Any], *, durable: bool = True) -> Any:
        raise NotImplementedError

    def _write(self, query: str, params: dict[str, Any]) -> int:
        raise NotImplementedError

    def _array(self, names: list[str]) -> Any:
        return names

    def _event_state(self) -> tuple[events.EventBell, events.Horizon, threading.Lock]:
        if not hasattr(self, "_bell"):
            self._bell = events.EventBell()
            self._horizon = events.Horizon()
            self._horizon_lock = threading.Lock()
            self._bell_heard = False
        return self._bell, self._horizon, self._horizon_lock

    def add_events(self, items: Sequence[events.EventRecord], *, durable: bool = True) -> int:
        """See `Store.add_events`: one statement, after the shared lock of writers."""
        if not items:
            return 0
        params = ops.columns([events.to_params(item) for item in items])

        def op(conn: Conn) -> int:
            conn.execute(ops.QUERIES["event_lock"])
            row = conn.execute(ops.QUERIES["add_events"], params).fetchone()
            return int(row["added"]) if row else 0

        result: int = self._transaction(op, durable=durable)
        return result

    def events_after(self, seq: int, limit: int) -> list[events.EventRecord]:
        """See `Store.events_after`: up to the horizon, which this store keeps moving."""
        _, horizon, lock = self._event_state()
        with self._connection() as conn:
            with conn.pipeline():
                # In this order: a writer holding a `seq` up to `high` holds the lock still.
                high_rows = conn.execute(ops.QUERIES["last_event_seq"])
                holder_rows = conn.execute(ops.QUERIES["event_lock_holders"])
            high = int(high_rows.fetchall()[0]["seq"])
            holders = frozenset(row["virtualtransaction"] for row in holder_rows.fetchall())
            with lock:
                safe = horizon.advance(high, holders)
            params = {"after": seq, "horizon": safe, "limit": limit}
            rows = conn.execute(ops.QUERIES["events_up_to"], params).fetchall()
        return [events.from_row(row) for row in rows]

    def delete_events_before(self, occurred: float, limit: int) -> int:
        """See `Store.delete_events_before`."""
        return self._write("delete_events_before", {"before": occurred, "limit": limit})

    def subscribe_events(self, callback: Callable[[], None]) -> Callable[[], None]:
        """See `Store.subscribe_events`: rung by the notifications of every process."""
        bell, _, lock = self._event_state()
        with lock:
            listen, self._bell_heard = not self._bell_heard, True
        if listen:
            self._listener.subscribe(lambda wake: _ring_on(wake, bell))
            self._listener.hear_events()
        return bell.subscribe(callback)


def _ring_on(wake: wakeups.Wake, bell: events.EventBell) -> None:
    # `resync`: notifications may have been lost while the listener reconnected.
    if wake.event in ("events", "resync"):
        bell.ring()
