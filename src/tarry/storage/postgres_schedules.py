"""`ScheduleStore` on PostgreSQL: schedules, and runs made ahead for their slots.

A mixin of `PostgresStore`. Two servers on one database may run a scheduler each:
a slot's key `(deployment, slot_at)` lets only one of them insert it (and its
run), and releasing skips slots the other is releasing (`SKIP LOCKED`), so each
run is made once and made Pending once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

import psycopg
from psycopg.rows import DictRow

from tarry.states import RunState
from tarry.storage import records, sqlfiles
from tarry.storage import schedule_rows as slots_mapping

__all__ = ["PostgresSchedules"]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]
_QUERIES = sqlfiles.load_queries("postgres")
_RELEASED = "its scheduled time came"


class PostgresSchedules:
    """The `ScheduleStore` methods of `PostgresStore` that write; its reads are in `NamedReads`."""

    def _transaction(self, op: Callable[[Conn], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def put_schedules(
        self, deployment: str, schedules: Sequence[records.ScheduleRecord]
    ) -> list[records.ScheduleRecord]:
        """See `Store.put_schedules`."""

        def op(conn: Conn) -> list[records.ScheduleRecord]:
            keep = {s.slug for s in schedules}
            for old in _schedules_of(conn, deployment):
                if old.slug not in keep:
                    _delete_waiting_runs(conn, deployment, old.slug)
                    key = {"deployment": deployment, "slug": old.slug}
                    conn.execute(_QUERIES["delete_schedule"], key)
            for schedule in schedules:
                conn.execute(_QUERIES["put_schedule"], slots_mapping.schedule_params(schedule))
            return _schedules_of(conn, deployment)

        return self._transaction(op)

    def set_schedule_active(
        self, deployment: str, slug: str, active: bool, at: float
    ) -> records.ScheduleRecord | None:
        """See `Store.set_schedule_active`."""
        params = {"deployment": deployment, "slug": slug, "active": active, "at": at}

        def op(conn: Conn) -> records.ScheduleRecord | None:
            rows = conn.execute(_QUERIES["set_schedule_active"], params).fetchall()
            if rows and not active:
                _delete_waiting_runs(conn, deployment, slug)
            return slots_mapping.schedule_from_row(rows[0]) if rows else None

        return self._transaction(op)

    def add_scheduled_runs(
        self,
        schedule: records.ScheduleRecord,
        made: Sequence[tuple[records.SlotRecord, records.RunRecord]],
        made_until: float,
    ) -> list[str]:
        """See `Store.add_scheduled_runs`."""
        key = {"deployment": schedule.deployment, "slug": schedule.slug}

        def op(conn: Conn) -> list[str]:
            # Locked, so a pause committing meanwhile either comes first (nothing is
            # made) or after (it deletes what this made).
            rows = conn.execute(_QUERIES["lock_schedule"], key).fetchall()
            if not rows or not rows[0]["active"]:
                return []
            created = _insert_runs(conn, schedule, made) if made else []
            conn.execute(_QUERIES["advance_schedule"], {**key, "made_until": made_until})
            return created

        # Lazy: runs ahead lost with their `made_until` in a crash are made again.
        return self._transaction(op, durable=False)

    def release_slots(
        self,
        release: Sequence[records.SlotRecord],
        drop: Sequence[records.SlotRecord],
        at: float,
        drop_reason: str,
    ) -> list[str]:
        """See `Store.release_slots`."""

        def op(conn: Conn) -> list[str]:
            _release(conn, drop, RunState.CANCELLED, at, drop_reason)
            return _release(conn, release, RunState.PENDING, at, _RELEASED)

        return self._transaction(op)


def _schedules_of(conn: Conn, deployment: str) -> list[records.ScheduleRecord]:
    params = {"deployment": deployment, "active_only": False}
    rows = conn.execute(_QUERIES["list_schedules"], params).fetchall()
    return [slots_mapping.schedule_from_row(row) for row in rows]


def _delete_waiting_runs(conn: Conn, deployment: str, slug: str) -> None:
    # Runs made ahead that never started have no journal, waits or logs: only
    # their slot, their first transition and themselves.
    params = {"deployment": deployment, "slug": slug}
    rows = conn.execute(_QUERIES["waiting_slots_of_schedule"], params).fetchall()
    if rows:
        run_ids = [row["run_id"] for row in rows]
        conn.execute(
            _QUERIES["delete_waiting_runs"], {"deployment": deployment, "run_ids": run_ids}
        )


def _insert_runs(
    conn: Conn,
    schedule: records.ScheduleRecord,
    made: Sequence[tuple[records.SlotRecord, records.RunRecord]],
) -> list[str]:
    first = made[0][1]  # the runs of one schedule share their flow, tags and creation
    params = {
        "deployment": schedule.deployment,
        "slug": schedule.slug,
        "slot_ats": [slot.slot_at for slot, _ in made],
        "run_ids": [run.id for _, run in made],
        "names": [run.name for _, run in made],
        "parameters": [run.parameters for _, run in made],
        "reasons": [run.state_reason for _, run in made],
        "flow_name": first.flow_name,
        "entrypoint": first.entrypoint,
        "tags": json.dumps(list(first.tags)),
        "created_at": first.created_at,
        "run_deployment": first.deployment,
        "work_pool": first.work_pool,
        "work_queue": first.work_queue,
    }
    return [row["id"] for row in conn.execute(_QUERIES["insert_scheduled_runs"], params)]


def _release(
    conn: Conn, slots: Sequence[records.SlotRecord], state: RunState, at: float, reason: str
) -> list[str]:
    if not slots:
        return []
    params = {
        "deployments": [slot.deployment for slot in slots],
        "slot_ats": [slot.slot_at for slot in slots],
    }
    taken = [row["run_id"] for row in conn.execute(_QUERIES["release_slots"], params)]
    if not taken:
        return []
    # Locked in id order first, as every transaction that changes runs does.
    conn.execute(_QUERIES["lock_runs"], {"ids": sorted(taken)})
    changed = {"run_ids": taken, "state": state.value, "reason": reason, "at": at}
    return [row["id"] for row in conn.execute(_QUERIES["release_scheduled_runs"], changed)]
