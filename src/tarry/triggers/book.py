"""The evaluator's book: every trigger's state and timer, and what changed since the last take.

States are JSON-ready dicts keyed by (automation id, key); timers are due times under
the same keys. The book remembers which keys it changed, so `take` gives just those as
`Changes` (states as JSON text), and keeps the due timers in a heap for `due`.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping
from typing import Any

from tarry.triggers import changes as changes_module

__all__ = ["Book"]

StateKey = changes_module.StateKey


class Book:
    """Trigger states and timers, with the changes not yet taken.

    Args:
        states: The stored states (JSON text) by (automation id, key).
        timers: The stored timers' due times by (automation id, key).
    """

    def __init__(
        self,
        states: Mapping[StateKey, str] | None = None,
        timers: Mapping[StateKey, float] | None = None,
    ) -> None:
        self._states: dict[StateKey, dict[str, Any]] = {
            key: json.loads(text) for key, text in (states or {}).items()
        }
        self._timers: dict[StateKey, float] = dict(timers or {})
        self._heap = [(due, key) for key, due in self._timers.items()]
        heapq.heapify(self._heap)
        self._changed_states: set[StateKey] = set()
        self._changed_timers: set[StateKey] = set()
        self.firings: list[changes_module.Firing] = []

    def get(self, key: StateKey) -> dict[str, Any] | None:
        """The state under `key`, None if there is none (change it, then `put` it)."""
        return self._states.get(key)

    def put(self, key: StateKey, state: dict[str, Any]) -> None:
        """Keep `state` under `key`."""
        self._states[key] = state
        self._changed_states.add(key)

    def delete(self, key: StateKey) -> None:
        """Forget the state and the timer under `key`."""
        if self._states.pop(key, None) is not None:
            self._changed_states.add(key)
        self.clear_timer(key)

    def set_timer(self, key: StateKey, due: float) -> None:
        """Be due at `due` under `key` (replacing its timer)."""
        if self._timers.get(key) != due:
            self._timers[key] = due
            self._changed_timers.add(key)
            heapq.heappush(self._heap, (due, key))

    def clear_timer(self, key: StateKey) -> None:
        """Drop the timer under `key`, if any."""
        if self._timers.pop(key, None) is not None:
            self._changed_timers.add(key)

    def timer(self, key: StateKey) -> float | None:
        """The due time under `key`, None if no timer."""
        return self._timers.get(key)

    def next_due(self) -> float | None:
        """The earliest due time, None if no timer."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> StateKey | None:
        """Remove and return the key of a timer due at `now` or before, None if none is."""
        self._drop_stale()
        if not self._heap or self._heap[0][0] > now:
            return None
        _, key = heapq.heappop(self._heap)
        self.clear_timer(key)
        return key

    def _drop_stale(self) -> None:
        # A replaced or cleared timer leaves its old heap entry behind; skip those.
        while self._heap and self._timers.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def keys_of(self, automation_id: str) -> list[StateKey]:
        """Every state and timer key of an automation."""
        keys = {key for key in self._states if key[0] == automation_id}
        return sorted(keys | {key for key in self._timers if key[0] == automation_id})

    def items(self) -> Iterator[tuple[StateKey, dict[str, Any]]]:
        """Every state."""
        return iter(self._states.items())

    def take(self) -> changes_module.Changes:
        """The firings and the changed states and timers since the last take."""
        states: dict[StateKey, str | None] = {}
        for key in self._changed_states:
            state = self._states.get(key)
            states[key] = None if state is None else _dump(state)
        timers = {key: self._timers.get(key) for key in self._changed_timers}
        taken = changes_module.Changes(self.firings, states, timers)
        self.firings = []
        self._changed_states = set()
        self._changed_timers = set()
        return taken

    def snapshot(self) -> tuple[dict[StateKey, str], dict[StateKey, float]]:
        """Every state as JSON text and every timer: what a store would hold now."""
        states = {key: _dump(value) for key, value in self._states.items()}
        return states, dict(self._timers)


def _dump(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"))
