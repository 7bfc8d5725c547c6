"""`ScheduleStore` on SQLite: schedules, and runs made ahead for their slots.

A mixin of `SqliteStore`: its writes go through the store's group commit, so a
batch of slots and their runs is one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from tarry.states import RunState
from tarry.storage import records, sqlfiles
from tarry.storage import rows as mapping
from tarry.storage import schedule_rows as slots_mapping

__all__ = ["SqliteSchedules"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqliteSchedules:
    """The `ScheduleStore` methods of `SqliteStore` that write; its reads are in `NamedReads`."""

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def put_schedules(
        self, deployment: str, schedules: Sequence[records.ScheduleRecord]
    ) -> list[records.ScheduleRecord]:
        """See `Store.put_schedules`."""

        def op(conn: sqlite3.Connection) -> list[records.ScheduleRecord]:
            keep = {s.slug for s in schedules}
            for old in _schedules_of(conn, deployment):
                if old.slug not in keep:
                    _delete_waiting_runs(conn, deployment, old.slug)
                    conn.execute(
                        _QUERIES["delete_schedule"], {"deployment": deployment, "slug": old.slug}
                    )
            for schedule in schedules:
                conn.execute(_QUERIES["put_schedule"], slots_mapping.schedule_params(schedule))
            return _schedules_of(conn, deployment)

        return self._write(op)

    def set_schedule_active(
        self, deployment: str, slug: str, active: bool, at: float
    ) -> records.ScheduleRecord | None:
        """See `Store.set_schedule_active`."""
        key = {"deployment": deployment, "slug": slug}

        def op(conn: sqlite3.Connection) -> records.ScheduleRecord | None:
            conn.execute(_QUERIES["set_schedule_active"], {**key, "active": active, "at": at})
            if not active:
                _delete_waiting_runs(conn, deployment, slug)
            row = conn.execute(_QUERIES["get_schedule"], key).fetchone()
            return None if row is None else slots_mapping.schedule_from_row(row)

        return self._write(op)

    def add_scheduled_runs(
        self,
        schedule: records.ScheduleRecord,
        made: Sequence[tuple[records.SlotRecord, records.RunRecord]],
        made_until: float,
    ) -> list[str]:
        """See `Store.add_scheduled_runs`."""
        key = {"deployment": schedule.deployment, "slug": schedule.slug}

        def op(conn: sqlite3.Connection) -> list[str]:
            row = conn.execute(_QUERIES["get_schedule"], key).fetchone()
            if row is None or not row["active"]:
                return []  # paused or removed meanwhile: its runs are not wanted
            created = [run.id for slot, run in made if _insert_slot(conn, slot, run)]
            conn.execute(_QUERIES["advance_schedule"], {**key, "made_until": made_until})
            return created

        # Lazy: runs ahead lost with their `made_until` in a power cut are made again.
        return self._write(op, durable=False)

    def release_slots(
        self,
        release: Sequence[records.SlotRecord],
        drop: Sequence[records.SlotRecord],
        at: float,
        drop_reason: str,
    ) -> list[str]:
        """See `Store.release_slots`."""

        def op(conn: sqlite3.Connection) -> list[str]:
            for slot in drop:
                _release(conn, slot, RunState.CANCELLED, at, drop_reason)
            reason = "its scheduled time came"
            return [s.run_id for s in release if _release(conn, s, RunState.PENDING, at, reason)]

        return self._write(op)


def _schedules_of(conn: sqlite3.Connection, deployment: str) -> list[records.ScheduleRecord]:
    params = {"deployment": deployment, "active_only": False}
    rows = conn.execute(_QUERIES["list_schedules"], params).fetchall()
    return [slots_mapping.schedule_from_row(row) for row in rows]


def _delete_waiting_runs(conn: sqlite3.Connection, deployment: str, slug: str) -> None:
    # Runs made ahead that never started have no journal, waits or logs: only
    # their slot, their first transition and themselves.
    params = {"deployment": deployment, "slug": slug}
    for row in conn.execute(_QUERIES["waiting_slots_of_schedule"], params).fetchall():
        conn.execute(_QUERIES["delete_slot"], {"deployment": deployment, "slot_at": row["slot_at"]})
        conn.execute(_QUERIES["delete_scheduled_run_transitions"], {"run_id": row["run_id"]})
        conn.execute(_QUERIES["delete_scheduled_run"], {"run_id": row["run_id"]})


def _insert_slot(
    conn: sqlite3.Connection, slot: records.SlotRecord, run: records.RunRecord
) -> bool:
    # The run first: the slot's key refers to it. A slot taken already (another
    # scheduler made it) leaves no run behind: the insert is undone by the savepoint.
    conn.execute("SAVEPOINT slot")
    inserted = conn.execute(_QUERIES["insert_run"], mapping.run_params(run)).rowcount > 0
    if inserted and conn.execute(_QUERIES["insert_slot"], slots_mapping.slot_params(slot)).rowcount:
        first = records.TransitionRecord(
            run.id, None, run.state, run.created_at, "made by its schedule"
        )
        conn.execute(_QUERIES["insert_transition"], mapping.transition_params(first))
        conn.execute("RELEASE slot")
        return True
    conn.execute("ROLLBACK TO slot")
    conn.execute("RELEASE slot")
    return False


def _release(
    conn: sqlite3.Connection, slot: records.SlotRecord, state: RunState, at: float, reason: str
) -> bool:
    key = {"deployment": slot.deployment, "slot_at": slot.slot_at}
    if not conn.execute(_QUERIES["release_slot"], key).rowcount:
        return False  # released before (by another scheduler)
    params = {"run_id": slot.run_id, "state": state.value, "reason": reason, "at": at}
    if not conn.execute(_QUERIES["release_scheduled_run"], params).rowcount:
        return False  # no longer Scheduled: cancelled meanwhile
    change = records.TransitionRecord(slot.run_id, RunState.SCHEDULED, state, at, reason)
    conn.execute(_QUERIES["insert_transition"], mapping.transition_params(change))
    return True
