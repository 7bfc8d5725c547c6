"""`ScheduleStore` in memory: a mixin of `MemoryStore`, under its lock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from tarry import interrupts
from tarry.states import RunState
from tarry.storage import records

__all__ = ["MemorySchedules"]

_Key = tuple[str, str]


class MemorySchedules:
    """The `ScheduleStore` methods of `MemoryStore`."""

    _lock: interrupts.ShieldedLock
    _runs: dict[str, records.RunRecord]
    _transitions: dict[str, list[records.TransitionRecord]]
    # `MemoryEvents._record_transition`, a later base: a stub here would shadow it.
    _record_transition: Callable[[records.RunRecord, records.TransitionRecord], None]

    def _check_open(self) -> None:
        raise NotImplementedError

    def _schedule_tables(
        self,
    ) -> tuple[dict[_Key, records.ScheduleRecord], dict[tuple[str, float], records.SlotRecord]]:
        # Made on first use, so `MemoryStore.__init__` needs no schedule fields.
        if not hasattr(self, "_schedules"):
            self._schedules: dict[_Key, records.ScheduleRecord] = {}
            self._slots: dict[tuple[str, float], records.SlotRecord] = {}
        return self._schedules, self._slots

    def put_schedules(
        self, deployment: str, schedules: Sequence[records.ScheduleRecord]
    ) -> list[records.ScheduleRecord]:
        """See `Store.put_schedules`."""
        with self._lock:
            self._check_open()
            stored, _ = self._schedule_tables()
            keep = {s.slug for s in schedules}
            for key in [k for k in stored if k[0] == deployment and k[1] not in keep]:
                self._delete_waiting(key)
                del stored[key]
            for schedule in schedules:
                stored[(deployment, schedule.slug)] = _merged(
                    stored.get((deployment, schedule.slug)), schedule
                )
            return sorted((s for k, s in stored.items() if k[0] == deployment), key=_order)

    def list_schedules(
        self, deployment: str | None = None, *, active_only: bool = False
    ) -> list[records.ScheduleRecord]:
        """See `Store.list_schedules`."""
        with self._lock:
            self._check_open()
            stored, _ = self._schedule_tables()
            found = [
                s
                for s in stored.values()
                if (deployment is None or s.deployment == deployment)
                and (s.active or not active_only)
            ]
            return sorted(found, key=_order)

    def set_schedule_active(
        self, deployment: str, slug: str, active: bool, at: float
    ) -> records.ScheduleRecord | None:
        """See `Store.set_schedule_active`."""
        with self._lock:
            self._check_open()
            stored, _ = self._schedule_tables()
            old = stored.get((deployment, slug))
            if old is None:
                return None
            made_until = at if active and not old.active else old.made_until
            new = dataclasses.replace(old, active=active, updated_at=at, made_until=made_until)
            stored[(deployment, slug)] = new
            if not active:
                self._delete_waiting((deployment, slug))
            return new

    def add_scheduled_runs(
        self,
        schedule: records.ScheduleRecord,
        made: Sequence[tuple[records.SlotRecord, records.RunRecord]],
        made_until: float,
    ) -> list[str]:
        """See `Store.add_scheduled_runs`."""
        with self._lock:
            self._check_open()
            stored, slots = self._schedule_tables()
            key = (schedule.deployment, schedule.slug)
            current = stored.get(key)
            if current is None or not current.active:
                return []
            created = []
            for slot, run in made:
                if (slot.deployment, slot.slot_at) in slots or run.id in self._runs:
                    continue
                slots[(slot.deployment, slot.slot_at)] = slot
                self._runs[run.id] = run
                first = records.TransitionRecord(
                    run.id, None, run.state, run.created_at, "made by its schedule"
                )
                self._record_transition(run, first)
                created.append(run.id)
            until = max(current.made_until or made_until, made_until)
            stored[key] = dataclasses.replace(current, made_until=until)
            return created

    def due_slots(self, now: float, limit: int) -> list[records.SlotRecord]:
        """See `Store.due_slots`."""
        with self._lock:
            self._check_open()
            _, slots = self._schedule_tables()
            due = [s for s in slots.values() if not s.released and s.slot_at <= now]
            return sorted(due, key=lambda s: (s.slot_at, s.deployment))[:limit]

    def release_slots(
        self,
        release: Sequence[records.SlotRecord],
        drop: Sequence[records.SlotRecord],
        at: float,
        drop_reason: str,
    ) -> list[str]:
        """See `Store.release_slots`."""
        with self._lock:
            self._check_open()
            for slot in drop:
                self._release(slot, RunState.CANCELLED, at, drop_reason)
            reason = "its scheduled time came"
            return [s.run_id for s in release if self._release(s, RunState.PENDING, at, reason)]

    def upcoming_runs(
        self, deployment: str, limit: int = 50
    ) -> list[tuple[records.SlotRecord, records.RunRecord]]:
        """See `Store.upcoming_runs`."""
        with self._lock:
            self._check_open()
            _, slots = self._schedule_tables()
            found = sorted(
                (s for s in slots.values() if s.deployment == deployment and not s.released),
                key=lambda s: s.slot_at,
            )
            return [(s, self._runs[s.run_id]) for s in found[:limit]]

    def _release(self, slot: records.SlotRecord, state: RunState, at: float, reason: str) -> bool:
        _, slots = self._schedule_tables()
        key = (slot.deployment, slot.slot_at)
        current = slots.get(key)
        if current is None or current.released:
            return False
        slots[key] = dataclasses.replace(current, released=True)
        run = self._runs.get(slot.run_id)
        if run is None or run.state is not RunState.SCHEDULED:
            return False
        ended = at if state is RunState.CANCELLED else run.ended_at
        new = dataclasses.replace(run, state=state, state_reason=reason, ended_at=ended)
        self._runs[run.id] = new
        self._record_transition(
            new, records.TransitionRecord(run.id, RunState.SCHEDULED, state, at, reason)
        )
        return True

    def _delete_waiting(self, key: _Key) -> None:
        _, slots = self._schedule_tables()
        for slot_key, slot in list(slots.items()):
            run = self._runs.get(slot.run_id)
            waiting = run is not None and run.state is RunState.SCHEDULED
            if (slot.deployment, slot.slug) == key and not slot.released and waiting:
                del slots[slot_key]
                del self._runs[slot.run_id]
                del self._transitions[slot.run_id]


def _merged(
    old: records.ScheduleRecord | None, new: records.ScheduleRecord
) -> records.ScheduleRecord:
    if old is None:
        return new
    made_until = old.made_until if old.schedule == new.schedule else new.made_until
    return dataclasses.replace(new, created_at=old.created_at, made_until=made_until)


def _order(schedule: records.ScheduleRecord) -> tuple[str, str]:
    return (schedule.deployment, schedule.slug)
