"""Schedule and slot records ↔ rows, for both SQL stores."""

from __future__ import annotations

import dataclasses
from typing import Any

from tarry.storage import records
from tarry.storage.rows import Row

__all__ = ["schedule_from_row", "schedule_params", "slot_from_row", "slot_params"]


def schedule_params(schedule: records.ScheduleRecord) -> dict[str, Any]:
    """Query parameters of a schedule."""
    return dataclasses.asdict(schedule)


def schedule_from_row(row: Row) -> records.ScheduleRecord:
    """The schedule a `schedules` row holds."""
    return records.ScheduleRecord(
        deployment=row["deployment"],
        slug=row["slug"],
        schedule=row["schedule"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        active=bool(row["active"]),
        parameters=row["parameters"],
        missed=row["missed"],
        made_until=row["made_until"],
    )


def slot_params(slot: records.SlotRecord) -> dict[str, Any]:
    """Query parameters of a slot."""
    return dataclasses.asdict(slot)


def slot_from_row(row: Row) -> records.SlotRecord:
    """The slot a `scheduled_runs` row holds."""
    return records.SlotRecord(
        deployment=row["deployment"],
        slot_at=row["slot_at"],
        slug=row["slug"],
        run_id=row["run_id"],
        released=bool(row["released"]),
    )
