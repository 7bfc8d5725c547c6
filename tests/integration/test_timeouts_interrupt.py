"""A sync task's or flow's timeout stops its code where it is, on a real SQLite file.

Timings are bounded generously: what is asserted is that the code stopped (its
later side effects never happen), not how fast.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import tarry
from tarry import flow, serialization, task
from tarry.states import RunState, StepStatus
from tarry.storage import RunFilter, records
from tarry.task_runners import ThreadPoolTaskRunner
from tarry.testing import TestHarness, tarry_test_harness
from tests.conftest import postgres_schema_url

HERE = __file__
SLACK = 5.0
"""Seconds beyond timeout + grace that a stopped call may take on a loaded machine."""

side_effects: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_side_effects() -> None:
    side_effects.clear()


def _only_run(harness: TestHarness, flow_name: str) -> records.RunRecord:
    runs = harness.store.list_runs(RunFilter(flow_name=flow_name))
    assert len(runs) == 1
    return runs[0]


def _line_of(marker: str) -> int:
    with open(HERE) as source:
        return next(n for n, line in enumerate(source, 1) if line.rstrip().endswith(marker))


def _in_loop(message: str, marker: str) -> bool:
    """Whether `message` ends with the place of the loop at `marker` (its test or its body)."""
    line = _line_of(marker)
    return message.endswith((f"{HERE}:{line}", f"{HERE}:{line + 1}"))


def _gone(thread_name: str, within: float) -> bool:
    """Whether every thread whose name starts with `thread_name` ends `within` seconds."""
    until = time.monotonic() + within
    while time.monotonic() < until:
        if not any(t.name.startswith(thread_name) for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


# -- a Python loop stops where it is --------------------------------------------------------


@task(timeout_seconds=0.3)
def spins_forever() -> str:
    while True:  # spins here
        pass
    side_effects.append("after the loop")  # type: ignore[unreachable]
    return "never"


@flow
def calls_a_spinning_task() -> str:
    return spins_forever()


def test_a_looping_task_is_stopped_in_its_loop(harness: TestHarness) -> None:
    started = time.monotonic()
    with pytest.raises(tarry.TaskTimeout) as caught:
        calls_a_spinning_task()
    assert time.monotonic() - started < 0.3 + SLACK
    message = str(caught.value)
    assert message.startswith("task 'spins_forever' exceeded its timeout of 0.3s; stopped at ")
    assert _in_loop(message, "# spins here")
    assert _gone("tarry-task-spins_forever", within=SLACK)
    assert side_effects == []
    run = _only_run(harness, "calls-a-spinning-task")
    assert run.state is RunState.FAILED
    assert run.state_reason.startswith("TaskTimeout: task 'spins_forever' exceeded")
    [step] = harness.store.get_steps(run.id)
    assert step.status is StepStatus.FAILED


@task(timeout_seconds=0.3)
def swallows_everything() -> str:
    try:
        while True:
            pass
    except Exception:  # the user's catch-all
        side_effects.append("swallowed")
    side_effects.append("carried on")
    return "carried on"


@flow
def calls_a_swallowing_task() -> str:
    return swallows_everything()


def test_except_exception_in_the_task_does_not_swallow_the_interrupt(
    harness: TestHarness,
) -> None:
    with pytest.raises(tarry.TaskTimeout):
        calls_a_swallowing_task()
    assert _gone("tarry-task-swallows_everything", within=SLACK)
    assert side_effects == []


@task(timeout_seconds=0.3)
def cleans_up() -> None:
    try:
        while True:
            pass
    finally:
        side_effects.append("finally ran")


@flow
def calls_a_cleaning_task() -> None:
    cleans_up()


def test_finally_blocks_still_run(harness: TestHarness) -> None:
    with pytest.raises(tarry.TaskTimeout):
        calls_a_cleaning_task()
    assert side_effects == ["finally ran"]


tries: list[int] = []


@task(timeout_seconds=0.3, retries=2, retry_delay_seconds=0)
def slow_then_fast() -> int:
    tries.append(len(tries) + 1)
    while len(tries) < 2:
        pass
    return len(tries)


@flow
def retries_a_timeout() -> int:
    return slow_then_fast()


def test_a_timed_out_task_is_retried(harness: TestHarness) -> None:
    tries.clear()
    assert retries_a_timeout() == 2
    run = _only_run(harness, "retries-a-timeout")
    [step] = harness.store.get_steps(run.id)
    assert (step.status, step.attempts) == (StepStatus.COMPLETED, 2)
    assert tries == [1, 2]


# -- blocked in C: abandoned, and stopped when it returns -----------------------------------


@task(timeout_seconds=0.2)
def sleeps_a_minute() -> None:
    time.sleep(60)  # sleeps here
    side_effects.append("woke")


@flow
def calls_a_sleeping_task() -> None:
    sleeps_a_minute()


def test_a_task_sleeping_a_minute_times_out_in_time(harness: TestHarness) -> None:
    started = time.monotonic()
    with pytest.raises(tarry.TaskTimeout) as caught:
        calls_a_sleeping_task()
    assert time.monotonic() - started < 0.2 + SLACK
    assert f"blocked outside Python at {HERE}:{_line_of('# sleeps here')}" in str(caught.value)
    assert "abandoned" in str(caught.value)
    run = _only_run(harness, "calls-a-sleeping-task")
    assert run.state is RunState.FAILED
    assert "abandoned" in run.state_reason


@task(timeout_seconds=0.2)
def naps() -> None:
    time.sleep(1.5)
    side_effects.append("after the nap")


@flow
def calls_a_napping_task() -> None:
    naps()


def test_an_abandoned_call_stops_as_soon_as_it_is_back_in_python(harness: TestHarness) -> None:
    with pytest.raises(tarry.TaskTimeout, match="abandoned"):
        calls_a_napping_task()
    assert _gone("tarry-task-naps", within=1.5 + SLACK)
    assert side_effects == []


@pytest.fixture
def silent_socket() -> Iterator[socket.socket]:
    mine, theirs = socket.socketpair()
    yield mine
    theirs.close()  # the blocked read returns, and its pending interrupt lands
    mine.close()


def test_a_blocking_socket_read_is_reported_as_abandoned(
    harness: TestHarness, silent_socket: socket.socket
) -> None:
    @task(timeout_seconds=0.2)
    def reads() -> bytes:
        data = silent_socket.recv(10)  # reads here
        side_effects.append("read")
        return data

    @flow
    def reads_a_socket() -> bytes:
        return reads()

    with pytest.raises(tarry.TaskTimeout) as caught:
        reads_a_socket()
    message = str(caught.value)
    assert "could not be stopped" in message
    assert f"{HERE}:{_line_of('# reads here')}" in message
    assert side_effects == []


# -- flows ------------------------------------------------------------------------------------


@task
def tick() -> int:
    side_effects.append("tick")
    return len(side_effects)


@flow(timeout_seconds=0.5)
def spins_between_steps() -> int:
    tick()
    while True:  # the flow spins here
        pass
    return tick()  # type: ignore[unreachable]


def test_a_sync_flow_is_stopped_mid_body(harness: TestHarness) -> None:
    started = time.monotonic()
    with pytest.raises(tarry.FlowTimeout) as caught:
        spins_between_steps()
    assert time.monotonic() - started < 0.5 + SLACK
    message = str(caught.value)
    expected = "flow 'spins-between-steps' exceeded its timeout of 0.5s; stopped at "
    assert message.startswith(expected)
    assert _in_loop(message, "# the flow spins here")
    run = _only_run(harness, "spins-between-steps")
    assert run.state is RunState.FAILED
    assert run.state_reason == f"FlowTimeout: {caught.value}"
    assert _gone(f"tarry-flow-{run.name}", within=SLACK)
    [step] = harness.store.get_steps(run.id)
    assert (step.key, step.status) == ("1", StepStatus.COMPLETED)
    assert side_effects == ["tick"]


@task(timeout_seconds=30)
def spins_long() -> None:
    while True:
        pass


@flow(timeout_seconds=0.5)
def waits_on_a_timed_task() -> None:
    spins_long()
    side_effects.append("after the task")


def test_a_flow_timeout_stops_a_longer_timed_task_inside_it(harness: TestHarness) -> None:
    started = time.monotonic()
    with pytest.raises(tarry.FlowTimeout):
        waits_on_a_timed_task()
    assert time.monotonic() - started < 0.5 + SLACK
    assert _gone("tarry-task-spins_long", within=SLACK)
    assert side_effects == []


# -- thread pools -----------------------------------------------------------------------------


@task
def where_am_i() -> str:
    return threading.current_thread().name


@flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
def pool_survives() -> tuple[str, str]:
    first = spins_forever.submit()
    with pytest.raises(tarry.TaskTimeout):
        first.result(timeout=0.3 + SLACK)
    return where_am_i.submit().result(timeout=SLACK), where_am_i.submit().result(timeout=SLACK)


def test_a_pool_task_times_out_and_its_pool_thread_serves_the_next(harness: TestHarness) -> None:
    # One worker only: had the timeout killed it, the next task would never run.
    first, second = pool_survives()
    assert first == second
    assert first.startswith("tarry-task")
    assert side_effects == []
    run = _only_run(harness, "pool-survives")
    statuses = [s.status for s in harness.store.get_steps(run.id)]
    assert statuses == [StepStatus.FAILED, StepStatus.COMPLETED, StepStatus.COMPLETED]


# -- the journal stays whole however the interrupt falls --------------------------------------


calls: list[int] = []


@task
def record(i: int) -> int:
    calls.append(i)
    return i * 3


def _stepping_flow(seconds: float) -> Any:
    @flow(name="steps-until-stopped", timeout_seconds=seconds)
    def steps_until_stopped() -> None:
        i = 0
        while True:
            record(i)
            i += 1

    return steps_until_stopped


def _check_journal(harness: TestHarness, run: records.RunRecord) -> None:
    journal = harness.store.get_steps(run.id)
    assert [s.key for s in journal] == [str(n) for n in range(1, len(journal) + 1)]
    assert all(s.status is StepStatus.COMPLETED for s in journal)
    assert [serialization.loads(s.result) for s in journal] == [3 * i for i in range(len(journal))]
    # A step interrupted before its record was written may have run once more.
    assert len(journal) <= len(calls) <= len(journal) + 1


@flow
def records_once() -> int:
    return record(7)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_timeouts_falling_anywhere_around_step_records_leave_a_whole_journal(store: str) -> None:
    settings: dict[str, Any] = {}
    if store == "postgres":
        settings["database_url"] = postgres_schema_url()
    with tarry_test_harness(**settings) as harness:
        for n in range(12):
            calls.clear()
            stepping = _stepping_flow(0.05 + 0.037 * n)
            with pytest.raises(tarry.FlowTimeout):
                stepping()
            assert _gone("tarry-flow-", within=SLACK)
            runs = harness.store.list_runs(RunFilter(flow_name="steps-until-stopped"))
            run = max(runs, key=lambda r: r.created_at)
            assert run.state is RunState.FAILED
            time.sleep(0.05)  # a thread still stopping would add steps now
            _check_journal(harness, run)
        # The store is still healthy: no transaction was left open by an interrupt.
        assert records_once() == 21


# -- tarry's own waits inside a timed flow wake for its interrupt -------------------------------


@task
def naps_in_the_pool() -> str:
    time.sleep(1.5)
    return "rested"


@flow(timeout_seconds=0.3, task_runner=ThreadPoolTaskRunner(max_workers=1))
def waits_for_a_future() -> str:
    value: str = naps_in_the_pool.submit().result()  # waits for the future
    side_effects.append("got the result")
    return value


def test_a_flow_waiting_for_a_future_is_stopped_in_its_wait(harness: TestHarness) -> None:
    with pytest.raises(tarry.FlowTimeout) as caught:
        waits_for_a_future()
    assert "stopped at" in str(caught.value)
    assert "abandoned" not in str(caught.value)
    assert side_effects == []


@task(retries=1, retry_delay_seconds=60)
def fails_once() -> None:
    raise RuntimeError("not yet")


@flow(timeout_seconds=0.3)
def waits_to_retry() -> None:
    fails_once()


def test_a_flow_is_stopped_in_a_task_retry_delay(harness: TestHarness) -> None:
    started = time.monotonic()
    with pytest.raises(tarry.FlowTimeout) as caught:
        waits_to_retry()
    assert time.monotonic() - started < 0.3 + SLACK
    assert "abandoned" not in str(caught.value)
