"""The storage port of events: `EventStore`, one of the protocols `Store` joins.

Besides the events written with `add_events`, every store writes the built-in
events of its own changes (see `storage.events`) in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from tarry.storage import events

__all__ = ["EventStore"]


class EventStore(Protocol):
    """Events: stored once each, read by filter or in order, swept after their retention."""

    def add_events(self, items: Sequence[events.EventRecord], *, durable: bool = True) -> int:
        """Store events whose ids are new, in one transaction, in the order given.

        Each is given the next `seq`; its `seq` field is ignored. With
        `durable=False` the commit may reach stable storage only with the next
        durable write.

        Returns:
            How many were new (an id stored before is skipped).
        """

    def list_events(self, where: events.EventFilter) -> list[events.EventRecord]:
        """Events matching `where`: newest first, or oldest first when `where.after_seq` is set."""

    def events_after(self, seq: int, limit: int) -> list[events.EventRecord]:
        """Up to `limit` events after `seq`, oldest first, with no gap later filled.

        An event this returns has every event of a lower `seq` committed before it,
        so a reader that moves its cursor to the last `seq` returned misses none
        (PostgreSQL holds back the events behind a transaction still in flight).
        """

    def last_event_seq(self) -> int:
        """The highest `seq` stored (0 when none): where a reader starting now begins."""

    def delete_events_before(self, occurred: float, limit: int) -> int:
        """Delete up to `limit` of the oldest events that occurred before `occurred`.

        Returns:
            How many were deleted (fewer than `limit`: none older is left).
        """

    def subscribe_events(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` soon after events are stored, until the returned function is called.

        Events stored by this process ring at once, after their commit; on
        PostgreSQL so do events other processes store (one notification per
        transaction). Elsewhere readers in other processes poll. `callback` runs
        on the storing thread: it must only kick (set a flag or an event).
        """
