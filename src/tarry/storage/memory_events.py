"""`EventStore` in memory: a mixin of `MemoryStore`, and the hooks that write built-in events.

`MemoryStore` calls `_record_transition`, `_add_wait`, `_set_wait` and
`_add_message` (under its lock) where the SQL stores' triggers fire.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from tarry import interrupts
from tarry.states import WaitStatus
from tarry.storage import events, records

__all__ = ["MemoryEvents"]


class MemoryEvents:
    """The `EventStore` methods of `MemoryStore`."""

    _lock: interrupts.ShieldedLock
    _runs: dict[str, records.RunRecord]
    _transitions: dict[str, list[records.TransitionRecord]]
    _waits: dict[str, records.WaitRecord]
    _messages: list[records.MessageRecord]

    def _check_open(self) -> None:
        raise NotImplementedError

    def _event_log(self) -> list[events.EventRecord]:
        if not hasattr(self, "_events"):
            self._events: list[events.EventRecord] = []
            self._event_ids: set[str] = set()
            self._event_seq = 0
            self._bell = events.EventBell()
        return self._events

    def _append_events(self, items: Sequence[events.EventRecord | None]) -> int:
        log = self._event_log()
        added = 0
        for item in items:
            if item is None or item.id in self._event_ids:
                continue
            self._event_seq += 1
            log.append(dataclasses.replace(item, seq=self._event_seq))
            self._event_ids.add(item.id)
            added += 1
        if added:
            # Rung under the store's lock: callbacks only kick, and readers take it after.
            self._bell.ring()
        return added

    # -- the built-in events (the SQL stores' triggers) ------------------------------------

    def _record_transition(
        self, run: records.RunRecord, transition: records.TransitionRecord
    ) -> None:
        self._transitions.setdefault(transition.run_id, []).append(transition)
        self._append_events([events.run_transition_event(run, transition)])

    def _add_wait(self, wait: records.WaitRecord) -> None:
        if wait.id in self._waits:
            return
        self._waits[wait.id] = wait
        run = self._runs.get(wait.run_id)
        if run is not None:
            self._append_events([events.wait_opened_event(wait, run)])

    def _set_wait(self, wait: records.WaitRecord) -> None:
        before = self._waits.get(wait.id)
        self._waits[wait.id] = wait
        run = self._runs.get(wait.run_id)
        closing = before is not None and before.status is WaitStatus.OPEN
        if closing and run is not None and wait.status is not WaitStatus.OPEN:
            self._append_events([events.wait_closed_event(wait, run)])

    def _add_message(self, message: records.MessageRecord) -> None:
        self._messages.append(message)
        self._append_events([events.message_sent_event(message)])

    # -- EventStore ---------------------------------------------------------------------

    def add_events(self, items: Sequence[events.EventRecord], *, durable: bool = True) -> int:
        """See `Store.add_events`."""
        del durable
        with self._lock:
            self._check_open()
            return self._append_events(items)

    def list_events(self, where: events.EventFilter) -> list[events.EventRecord]:
        """See `Store.list_events`."""
        with self._lock:
            self._check_open()
            found = [e for e in self._event_log() if events.matches(e, where)]
        if where.after_seq is None:
            found.reverse()
        return found[: where.limit]

    def events_after(self, seq: int, limit: int) -> list[events.EventRecord]:
        """See `Store.events_after`."""
        return self.list_events(events.EventFilter(after_seq=seq, limit=limit))

    def last_event_seq(self) -> int:
        """See `Store.last_event_seq`."""
        with self._lock:
            self._check_open()
            self._event_log()
            return self._event_seq

    def delete_events_before(self, occurred: float, limit: int) -> int:
        """See `Store.delete_events_before`."""
        with self._lock:
            self._check_open()
            log = self._event_log()
            old = sorted((e for e in log if e.occurred < occurred), key=lambda e: e.occurred)
            gone = {e.seq for e in old[:limit]}
            self._events = [e for e in log if e.seq not in gone]
            self._event_ids -= {e.id for e in old[:limit]}
            return len(gone)

    def subscribe_events(self, callback: Callable[[], None]) -> Callable[[], None]:
        """See `Store.subscribe_events`."""
        with self._lock:
            self._event_log()
        return self._bell.subscribe(callback)
