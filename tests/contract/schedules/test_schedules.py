"""Contract: schedules of deployments, and the runs made ahead for their slots."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tarry.states import RunState
from tarry.storage import records
from tests.contract.catalog.test_deployments import deployment
from tests.contract.support import T0, new_id, run_record

if TYPE_CHECKING:
    from tarry.storage import Store

NAME = "train-model/finance"


def schedule(slug: str = "schedule-1", **fields: object) -> records.ScheduleRecord:
    values: dict[str, object] = {
        "deployment": NAME,
        "slug": slug,
        "schedule": '{"cron": "* * * * *", "timezone": null}',
        "created_at": T0,
        "updated_at": T0,
        "parameters": '{"cost": 10}',
        "missed": "all",
        "made_until": T0,
    }
    values.update(fields)
    return records.ScheduleRecord(**values)  # type: ignore[arg-type]


def made(
    *slot_ats: float, slug: str = "schedule-1"
) -> list[tuple[records.SlotRecord, records.RunRecord]]:
    runs = [run_record(new_id(), state=RunState.SCHEDULED, created_at=T0) for _ in slot_ats]
    return [
        (records.SlotRecord(NAME, at, slug, run.id), run)
        for at, run in zip(slot_ats, runs, strict=True)
    ]


def scheduled(store: Store, *slot_ats: float) -> tuple[records.ScheduleRecord, list[str]]:
    store.put_deployment(deployment(NAME))
    [stored] = store.put_schedules(NAME, [schedule()])
    return stored, store.add_scheduled_runs(stored, made(*slot_ats), max(slot_ats))


def test_schedules_read_back_and_keep_their_progress_when_stored_again(store: Store) -> None:
    store.put_deployment(deployment(NAME))
    stored = store.put_schedules(NAME, [schedule("b"), schedule("a", active=False)])

    assert [s.slug for s in stored] == ["a", "b"]
    assert store.list_schedules(NAME) == stored
    assert [s.slug for s in store.list_schedules(active_only=True)] == ["b"]
    store.add_scheduled_runs(stored[1], made(T0 + 60, slug="b"), T0 + 600)
    again = store.put_schedules(NAME, [schedule("b", updated_at=T0 + 5, created_at=T0 + 5)])
    assert again == [dataclasses.replace(schedule("b"), updated_at=T0 + 5, made_until=T0 + 600)]


def test_a_changed_schedule_starts_over_and_a_removed_one_takes_its_waiting_runs(
    store: Store,
) -> None:
    _stored, [run_id] = scheduled(store, T0 + 60)

    changed = store.put_schedules(
        NAME, [schedule(schedule='{"cron": "0 * * * *"}', made_until=T0 + 1)]
    )
    assert changed[0].made_until == T0 + 1
    store.put_schedules(NAME, [])

    assert store.list_schedules(NAME) == []
    assert store.get_run(run_id) is None
    assert store.upcoming_runs(NAME) == []


def test_each_slot_is_made_once_whoever_makes_it(store: Store) -> None:
    stored, first = scheduled(store, T0 + 60, T0 + 120)

    again = store.add_scheduled_runs(stored, made(T0 + 120, T0 + 180), T0 + 180)

    assert (len(first), len(again)) == (2, 1)  # the slot at T0 + 120 was made already
    upcoming = store.upcoming_runs(NAME)
    assert [slot.slot_at for slot, _ in upcoming] == [T0 + 60, T0 + 120, T0 + 180]
    assert all(run.state is RunState.SCHEDULED for _, run in upcoming)
    assert [run.id for _, run in upcoming] == [*first, again[-1]]
    assert store.list_schedules(NAME)[0].made_until == T0 + 180


def test_a_scheduled_run_reads_back_field_for_field(store: Store) -> None:
    store.put_deployment(deployment(NAME))
    [stored] = store.put_schedules(NAME, [schedule()])
    [(slot, run)] = made(T0 + 60)
    run = dataclasses.replace(run, state_reason="scheduled", tags=("nightly",))

    assert store.add_scheduled_runs(stored, [(slot, run)], T0 + 60) == [run.id]

    assert store.get_run(run.id) == run
    assert store.upcoming_runs(NAME) == [(slot, run)]


def test_made_until_never_moves_back(store: Store) -> None:
    stored, _ = scheduled(store, T0 + 600)

    store.add_scheduled_runs(stored, [], T0 + 60)

    assert store.list_schedules(NAME)[0].made_until == T0 + 600


def test_due_slots_are_released_once_and_their_runs_made_pending(store: Store) -> None:
    _, [early, late] = scheduled(store, T0 + 60, T0 + 120)

    due = store.due_slots(T0 + 90, limit=10)
    assert [slot.run_id for slot in due] == [early]
    assert store.release_slots(due, [], T0 + 90, "") == [early]
    assert store.release_slots(due, [], T0 + 91, "") == []

    run = store.get_run(early)
    assert run is not None
    assert run.state is RunState.PENDING
    assert [t.to_state for t in store.get_transitions(early)] == [
        RunState.SCHEDULED,
        RunState.PENDING,
    ]
    assert store.due_slots(T0 + 90, limit=10) == []
    assert [run.id for _, run in store.upcoming_runs(NAME)] == [late]


def test_dropped_slots_cancel_their_runs_with_the_reason(store: Store) -> None:
    _, [missed, latest] = scheduled(store, T0 + 60, T0 + 120)
    due = store.due_slots(T0 + 900, limit=10)

    assert store.release_slots(due[1:], due[:1], T0 + 900, "missed") == [latest]

    run = store.get_run(missed)
    assert run is not None
    assert run.state is RunState.CANCELLED
    assert run.state_reason == "missed"
    assert run.ended_at == T0 + 900


def test_a_run_cancelled_before_its_time_stays_cancelled(store: Store) -> None:
    _, [run_id] = scheduled(store, T0 + 60)
    store.transition(
        run_id, (RunState.SCHEDULED,), records.StateChange(RunState.CANCELLED, at=T0 + 1)
    )

    assert store.release_slots(store.due_slots(T0 + 60, 10), [], T0 + 60, "") == []
    run = store.get_run(run_id)
    assert run is not None
    assert run.state is RunState.CANCELLED


def test_pausing_deletes_waiting_runs_and_resuming_counts_from_then(store: Store) -> None:
    stored, [run_id] = scheduled(store, T0 + 60)

    paused = store.set_schedule_active(NAME, stored.slug, False, T0 + 10)
    assert paused is not None
    assert not paused.active
    assert store.get_run(run_id) is None
    assert store.add_scheduled_runs(paused, made(T0 + 120), T0 + 120) == []

    resumed = store.set_schedule_active(NAME, stored.slug, True, T0 + 3600)
    assert resumed is not None
    assert resumed.active
    assert resumed.made_until == T0 + 3600
    assert store.set_schedule_active(NAME, "no-such", True, T0) is None
