"""`AutomationStore` in memory: a mixin of `MemoryStore`, deciding as the SQL stores do."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tarry import errors, interrupts
from tarry.storage import automations

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["MemoryAutomations"]

Firing = tuple[automations.FiringRecord, list[automations.ActionRecord]]


@dataclasses.dataclass
class _Tables:
    """The automation tables of one `MemoryStore`."""

    stored: dict[str, automations.AutomationRecord] = dataclasses.field(default_factory=dict)
    states: dict[automations.StateKey, automations.TriggerStateRecord] = dataclasses.field(
        default_factory=dict
    )
    timers: dict[automations.StateKey, automations.AutomationTimer] = dataclasses.field(
        default_factory=dict
    )
    # Insertion order is commit order: `firings_of` breaks `fired_at` ties by it.
    firings: dict[str, automations.FiringRecord] = dataclasses.field(default_factory=dict)
    actions: dict[tuple[str, int], automations.ActionRecord] = dataclasses.field(
        default_factory=dict
    )
    cursor: int = 0
    commits: int = 0


class MemoryAutomations:
    """The `AutomationStore` methods of `MemoryStore`."""

    _lock: interrupts.ShieldedLock

    def _check_open(self) -> None:
        raise NotImplementedError

    def _automation_tables(self) -> _Tables:
        if not hasattr(self, "_automation_data"):
            self._automation_data = _Tables()
        return self._automation_data

    def put_automation(self, record: automations.AutomationRecord, *, create: bool) -> bool:
        """See `Store.put_automation`."""
        with self._lock:
            self._check_open()
            stored = self._automation_tables().stored
            known = stored.get(record.id)
            if (known is not None) == create:
                return False
            if any(a.name == record.name and a.id != record.id for a in stored.values()):
                raise errors.AutomationNameTaken(record.name)
            if known is not None:
                record = dataclasses.replace(record, created_at=known.created_at)
            stored[record.id] = record
            return True

    def get_automation(self, id_or_name: str) -> automations.AutomationRecord | None:
        """See `Store.get_automation`."""
        with self._lock:
            self._check_open()
            stored = self._automation_tables().stored
            if id_or_name in stored:
                return stored[id_or_name]
            return next((a for a in stored.values() if a.name == id_or_name), None)

    def list_automations(self) -> list[automations.AutomationRecord]:
        """See `Store.list_automations`."""
        with self._lock:
            self._check_open()
            return sorted(self._automation_tables().stored.values(), key=lambda a: a.name)

    def delete_automation(self, automation_id: str) -> bool:
        """See `Store.delete_automation`."""
        with self._lock:
            self._check_open()
            tables = self._automation_tables()
            for table in (tables.states, tables.timers):
                for key in [k for k in table if k[0] == automation_id]:
                    del table[key]
            return tables.stored.pop(automation_id, None) is not None

    def set_automation_enabled(self, automation_id: str, enabled: bool, at: float) -> bool:
        """See `Store.set_automation_enabled`."""
        with self._lock:
            self._check_open()
            stored = self._automation_tables().stored
            known = stored.get(automation_id)
            if known is None:
                return False
            stored[automation_id] = dataclasses.replace(known, enabled=enabled, updated_at=at)
            return True

    def evaluator_state(self) -> automations.EvaluatorState:
        """See `Store.evaluator_state`."""
        with self._lock:
            self._check_open()
            tables = self._automation_tables()
            states = [tables.states[k] for k in sorted(tables.states)]
            timers = sorted(tables.timers.values(), key=_timer_order)
            return automations.EvaluatorState(tables.cursor, states, timers, tables.commits)

    def commit_evaluation(self, commit: automations.EvaluationCommit) -> bool:
        """See `Store.commit_evaluation`."""
        with self._lock:
            self._check_open()
            tables = self._automation_tables()
            if not _current(tables, commit):
                return False
            _apply(tables, commit, _checked(tables, commit.firings))
            return True

    def due_actions(
        self, now: float, limit: int
    ) -> list[tuple[automations.FiringRecord, automations.ActionRecord]]:
        """See `Store.due_actions`."""
        with self._lock:
            self._check_open()
            tables = self._automation_tables()
            due = [
                a
                for a in tables.actions.values()
                if a.status is automations.ActionStatus.PENDING and a.due_at <= now
            ]
            due.sort(key=lambda a: (a.due_at, a.firing_id, a.index))
            return [(tables.firings[a.firing_id], a) for a in due[:limit]]

    def settle_action(
        self,
        firing_id: str,
        index: int,
        status: automations.ActionStatus,
        detail: str,
        *,
        at: float,
        retry_at: float | None = None,
        durable: bool = True,
    ) -> bool:
        """See `Store.settle_action`."""
        automations.check_settlement(status, retry_at)
        with self._lock:
            self._check_open()
            actions = self._automation_tables().actions
            known = actions.get((firing_id, index))
            if known is None or known.status is not automations.ActionStatus.PENDING:
                return False
            actions[(firing_id, index)] = _settled(known, status, detail, at, retry_at)
            return True

    def firings_of(self, automation_id: str, limit: int = 50) -> list[Firing]:
        """See `Store.firings_of`."""
        with self._lock:
            self._check_open()
            tables = self._automation_tables()
            # Newest first; of equal `fired_at`, the last inserted first (a stable sort
            # of the reversed insertion order keeps that).
            newest = reversed(tables.firings.values())
            mine = [f for f in newest if f.automation_id == automation_id]
            mine.sort(key=lambda f: -f.fired_at)
            return [(f, _actions_of(tables, f.id)) for f in mine[:limit]]


def _apply(
    tables: _Tables,
    commit: automations.EvaluationCommit,
    firings: Sequence[tuple[automations.FiringRecord, Sequence[automations.ActionRecord]]],
) -> None:
    alive = tables.stored
    tables.cursor = commit.cursor_after
    tables.commits += 1
    for key in commit.delete_states:
        tables.states.pop(key, None)
    for key in commit.delete_timers:
        tables.timers.pop(key, None)
    for state in commit.put_states:
        if state.automation_id in alive:
            tables.states[(state.automation_id, state.key)] = state
    for timer in commit.put_timers:
        if timer.automation_id in alive:
            tables.timers[(timer.automation_id, timer.key)] = timer
    # Row by row as the SQL stores' `ON CONFLICT DO NOTHING`: what is stored stays.
    for firing, actions in firings:
        tables.firings.setdefault(firing.id, firing)
        for action in actions:
            tables.actions.setdefault((firing.id, action.index), action)


def _checked(
    tables: _Tables,
    firings: Sequence[tuple[automations.FiringRecord, Sequence[automations.ActionRecord]]],
) -> list[tuple[automations.FiringRecord, list[automations.ActionRecord]]]:
    """The firings of automations that exist, their actions' status and firing id set.

    Raises:
        ValueError: An action's status is not an `ActionStatus`.
        errors.StoreError: A firing's kind is not one of `FIRING_KINDS` (the SQL
            stores' check constraint refuses it too).
    """
    kept = []
    for firing, actions in firings:
        if firing.kind not in automations.FIRING_KINDS:
            raise errors.StoreError(f"firing {firing.id} has no kind the store knows")
        if firing.automation_id in tables.stored:
            kept.append((firing, [_of_firing(firing, a) for a in actions]))
    return kept


def _of_firing(
    firing: automations.FiringRecord, action: automations.ActionRecord
) -> automations.ActionRecord:
    status = automations.ActionStatus(action.status)
    return dataclasses.replace(action, firing_id=firing.id, status=status)


def _current(tables: _Tables, commit: automations.EvaluationCommit) -> bool:
    if commit.commits_before is not None and commit.commits_before != tables.commits:
        return False
    return tables.cursor == commit.cursor_before


def _settled(
    action: automations.ActionRecord,
    status: automations.ActionStatus,
    detail: str,
    at: float,
    retry_at: float | None,
) -> automations.ActionRecord:
    attempts = action.attempts + 1
    if retry_at is not None:
        return dataclasses.replace(action, attempts=attempts, detail=detail, due_at=retry_at)
    return dataclasses.replace(
        action,
        status=automations.ActionStatus(status),
        attempts=attempts,
        detail=detail,
        settled_at=at,
    )


def _actions_of(tables: _Tables, firing_id: str) -> list[automations.ActionRecord]:
    found = [a for (f, _), a in tables.actions.items() if f == firing_id]
    return sorted(found, key=lambda a: a.index)


def _timer_order(timer: automations.AutomationTimer) -> tuple[float, str, str]:
    return (timer.due_at, timer.automation_id, timer.key)
