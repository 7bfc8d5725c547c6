"""Schedules on the harness's fake clock: a run per slot, missed-slot policies, pause and resume."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tarry import deployments, flow, scheduler, service
from tarry.schedules import Cron, Interval
from tarry.states import RunState
from tarry.storage import RunFilter, records
from tarry.testing import TestHarness, tarry_test_harness


@flow
def ping(greeting: str = "hello") -> str:
    return greeting


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    with tarry_test_harness(fake_clock=True) as h:
        yield h


def runs_of(h: TestHarness, *states: RunState) -> list[records.RunRecord]:
    return h.store.list_runs(RunFilter(flow_name="ping", states=states, limit=500))


def test_a_cron_every_minute_makes_one_run_per_minute_and_the_worker_runs_them() -> None:
    with tarry_test_harness(fake_clock=True, worker=True, scheduler=True) as h:
        ping.deploy("each-minute", cron="* * * * *", parameters={"greeting": "hi"})

        for _ in range(5):
            h.advance(60)

        h.wait_until(lambda: len(runs_of(h, RunState.COMPLETED)) == 5)
        done = runs_of(h, RunState.COMPLETED)
        assert {h.handle(run.id).result() for run in done} == {"hi"}
        assert all(run.state is RunState.SCHEDULED for run in runs_of(h, RunState.SCHEDULED))
        assert len(runs_of(h, RunState.SCHEDULED)) >= scheduler.MIN_AHEAD


def test_runs_are_made_ahead_and_listed_as_upcoming(harness: TestHarness) -> None:
    name = ping.deploy("hourly", schedules=[Cron("0 * * * *", parameters={"greeting": "hey"})]).name
    harness.start_scheduler()

    upcoming = service.upcoming_runs(name, hst=harness.host)

    assert len(upcoming) == scheduler.MIN_AHEAD  # three hours ahead: more than 10 minutes
    slots = [slot.slot_at for slot, _ in upcoming]
    assert slots == sorted(slots)
    assert all(at % 3600 == 0 for at in slots)
    assert all(run.state is RunState.SCHEDULED for _, run in upcoming)
    assert all(json.loads(run.parameters) == {"greeting": "hey"} for _, run in upcoming)


def test_a_sparse_schedule_keeps_three_runs_ahead_as_they_are_released(
    harness: TestHarness,
) -> None:
    name = ping.deploy("hourly", cron="0 * * * *").name
    harness.start_scheduler()

    harness.advance(7200)

    assert len(runs_of(harness, RunState.PENDING)) == 2
    assert len(service.upcoming_runs(name, hst=harness.host)) == scheduler.MIN_AHEAD


def _down_for_an_hour(h: TestHarness, missed: str) -> list[str]:
    """Deploy every minute, plan, stop the scheduler for an hour, and start another one."""
    ping.deploy("each-minute", schedules=[Interval(60, missed=missed)])  # type: ignore[arg-type]
    first = scheduler.Scheduler(h.host)
    first.tick()
    first.stop()
    h.advance(3600)
    return scheduler.Scheduler(h.host).tick()


def test_missed_all_runs_every_slot_of_the_downtime(harness: TestHarness) -> None:
    released = _down_for_an_hour(harness, "all")

    assert len(released) == 60
    assert len(runs_of(harness, RunState.PENDING)) == 60
    assert runs_of(harness, RunState.CANCELLED) == []


def test_missed_latest_runs_the_latest_missed_slot_once(harness: TestHarness) -> None:
    released = _down_for_an_hour(harness, "latest")

    # The latest slot missed, and the one due within the last minute (on time).
    assert len(released) == 2
    cancelled = runs_of(harness, RunState.CANCELLED)
    assert len(cancelled) == 10  # the runs made ahead before the downtime
    assert all("missed" in run.state_reason for run in cancelled)


def test_missed_skip_runs_none_of_them(harness: TestHarness) -> None:
    released = _down_for_an_hour(harness, "skip")

    assert len(released) == 1  # only the slot due within the last minute
    assert len(runs_of(harness, RunState.CANCELLED)) == 10


def test_a_paused_schedule_makes_no_runs_until_resumed(harness: TestHarness) -> None:
    name = ping.deploy("each-minute", cron="* * * * *").name
    harness.start_scheduler()
    harness.advance(60)
    assert len(runs_of(harness, RunState.PENDING)) == 1

    [paused] = service.set_schedule_active(name, "schedule-1", False, hst=harness.host)
    assert not paused.active
    assert service.upcoming_runs(name, hst=harness.host) == []
    harness.advance(600)
    assert len(runs_of(harness, RunState.PENDING)) == 1

    service.set_schedule_active(name, None, True, hst=harness.host)
    assert len(service.upcoming_runs(name, hst=harness.host)) == 0  # made at the next round
    harness.advance(60)
    assert len(runs_of(harness, RunState.PENDING)) == 2  # nothing of the paused time
    assert len(service.upcoming_runs(name, hst=harness.host)) >= scheduler.MIN_AHEAD


def test_deploying_again_with_paused_none_keeps_a_pause(harness: TestHarness) -> None:
    name = ping.deploy("each-minute", cron="* * * * *").name
    service.set_schedule_active(name, None, False, hst=harness.host)

    ping.deploy("each-minute", cron="* * * * *")
    assert [s.active for s in service.list_schedules(name, hst=harness.host)] == [False]
    ping.deploy("each-minute", cron="* * * * *", paused=False)
    assert [s.active for s in service.list_schedules(name, hst=harness.host)] == [True]
    deployments.deploy(ping, "each-minute", schedules=[])
    assert service.list_schedules(name, hst=harness.host) == []
