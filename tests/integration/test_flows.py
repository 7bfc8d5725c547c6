"""Flows and tasks run against a real SQLite file: what users see stored and returned."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tarry
from tarry import flow, get_run_logger, runtime, task
from tarry.futures import as_completed, wait
from tarry.states import RunState, StepKind, StepStatus
from tarry.storage import RunFilter, SqliteStore
from tarry.task_runners import ThreadPoolTaskRunner
from tarry.testing import TestHarness
from tests.conftest import query


def _db(harness: TestHarness) -> Path:
    store = harness.store
    assert isinstance(store, SqliteStore)
    return store.path


def _only_run(harness: TestHarness, flow_name: str) -> tarry.storage.RunRecord:
    runs = harness.store.list_runs(RunFilter(flow_name=flow_name))
    assert len(runs) == 1
    return runs[0]


@task
def double(x: int) -> int:
    get_run_logger().info("doubling %d", x)
    return x * 2


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def shout(text: str) -> str:
    print(f"shouting {text}")
    return text.upper()


@flow(log_prints=True)
def three_steps(x: int) -> str:
    doubled = double(x)
    total = add(doubled, 1)
    return shout(f"total {total}")


def test_three_step_flow_is_stored_in_the_sqlite_file(harness: TestHarness) -> None:
    assert three_steps(4) == "TOTAL 9"
    harness.store.close()
    db = _db(harness)

    [(run_id, state, params, result)] = query(db, "SELECT id, state, parameters, result FROM runs")
    assert (state, json.loads(str(params)), json.loads(str(result))) == (
        "Completed",
        {"x": 4},
        "TOTAL 9",
    )
    steps = query(db, "SELECT key, name, status, result FROM steps WHERE run_id = ?", run_id)
    assert sorted(steps) == [
        ("1", "double", "Completed", "8"),
        ("2", "add", "Completed", "9"),
        ("3", "shout", "Completed", '"TOTAL 9"'),
    ]
    logs = [
        row[0] for row in query(db, "SELECT message FROM logs WHERE run_id = ? ORDER BY id", run_id)
    ]
    assert "doubling 4" in logs
    assert "shouting total 9" in logs
    assert logs[-1] == "Finished in state Completed()"
    transitions = query(
        db, "SELECT from_state, to_state FROM run_transitions WHERE run_id = ? ORDER BY id", run_id
    )
    assert transitions == [(None, "Running"), ("Running", "Completed")]


def test_log_lines_remember_their_step(harness: TestHarness) -> None:
    three_steps(1)
    run = _only_run(harness, "three-steps")
    harness.store.close()
    rows = query(_db(harness), "SELECT step_key, message FROM logs WHERE run_id = ?", run.id)
    assert ("1", "doubling 1") in rows
    assert ("3", "shouting total 3") in rows


# -- retries and errors --------------------------------------------------------------------

attempts: dict[str, int] = {}


class PaymentDeclined(Exception):
    """A custom error type, to check that replay rebuilds it."""


@task(retries=2, retry_delay_seconds=[0.01, 0.02])
def flaky(key: str, fail_times: int) -> str:
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] <= fail_times:
        raise PaymentDeclined(f"card declined (try {attempts[key]})")
    return f"ok after {attempts[key]}"


@flow
def pays(key: str, fail_times: int) -> str:
    return flaky(key, fail_times)


def test_a_task_is_retried_per_its_policy(harness: TestHarness) -> None:
    assert pays("a", 2) == "ok after 3"
    run = _only_run(harness, "pays")
    [step] = harness.store.get_steps(run.id)
    assert (step.status, step.attempts) == (StepStatus.COMPLETED, 3)


def test_the_final_error_is_stored_and_reraised_with_its_type(harness: TestHarness) -> None:
    with pytest.raises(PaymentDeclined, match=r"card declined \(try 3\)"):
        pays("b", 5)
    assert attempts["b"] == 3
    run = _only_run(harness, "pays")
    assert run.state is RunState.FAILED
    assert run.state_reason == "PaymentDeclined: card declined (try 3)"
    [step] = harness.store.get_steps(run.id)
    assert step.status is StepStatus.FAILED
    error = json.loads(step.error or "{}")
    assert error["type"].endswith(":PaymentDeclined")
    assert error["message"] == "card declined (try 3)"
    assert "Traceback" in error["traceback"]


flow_tries: list[int] = []


@task
def count_once(tag: str) -> str:
    flow_tries.append(-1)
    return tag


@flow(retries=2, retry_delay_seconds=0.01)
def retried_flow() -> str:
    first = count_once("first")
    flow_tries.append(runtime.flow_run.run_count or 0)
    if len(flow_tries) < 4:
        raise RuntimeError("not yet")
    return first


def test_a_flow_retry_does_not_repeat_finished_steps(harness: TestHarness) -> None:
    flow_tries.clear()
    assert retried_flow() == "first"
    assert flow_tries == [-1, 1, 2, 3]
    run = _only_run(harness, "retried-flow")
    assert (run.state, run.attempt) == (RunState.COMPLETED, 3)
    reasons = [t.reason for t in harness.store.get_transitions(run.id)]
    assert any("retry 1 of 2" in r and "RuntimeError: not yet" in r for r in reasons)


@task(timeout_seconds=0.1)
def slow_task() -> str:
    time.sleep(2)
    return "late"


@flow
def waits_for_slow_task() -> str:
    return slow_task()


def test_a_task_timeout_fails_the_step(harness: TestHarness) -> None:
    started = time.monotonic()
    with pytest.raises(tarry.TaskTimeout, match=r"exceeded its timeout of 0\.1s"):
        waits_for_slow_task()
    assert time.monotonic() - started < 1.5
    run = _only_run(harness, "waits-for-slow-task")
    assert run.state is RunState.FAILED


@task
def tick() -> int:
    return 1


@flow(timeout_seconds=0.2)
def too_long() -> int:
    tick()
    time.sleep(1)
    return tick()


def test_a_flow_timeout_fails_the_run_and_stops_its_thread(harness: TestHarness) -> None:
    with pytest.raises(tarry.FlowTimeout):
        too_long()
    run = _only_run(harness, "too-long")
    assert run.state is RunState.FAILED
    assert "FlowTimeout" in run.state_reason
    time.sleep(1.0)
    # The abandoned body reached its second step after the timeout and was stopped there.
    assert [s.key for s in harness.store.get_steps(run.id)] == ["1"]


def test_bad_parameters_get_a_clear_error(harness: TestHarness) -> None:
    with pytest.raises(
        tarry.ParameterError, match=r"unexpected keyword argument 'y'.*three-steps\(x: int\)"
    ):
        three_steps(1, y=1)  # type: ignore[call-arg]
    assert harness.store.list_runs(RunFilter()) == []


# -- child flows ---------------------------------------------------------------------------


@flow
def child(n: int) -> int:
    return double(n)


@flow
def parent_flow() -> int:
    return child(2) + child(5)


def test_a_flow_called_in_a_flow_is_a_child_run(harness: TestHarness) -> None:
    assert parent_flow() == 14
    parent = _only_run(harness, "parent-flow")
    children = harness.store.list_runs(RunFilter(parent_id=parent.id))
    assert sorted(c.parameters for c in children) == ['{"n":2}', '{"n":5}']
    assert all(c.state is RunState.COMPLETED for c in children)
    journal = harness.store.get_steps(parent.id)
    assert [(s.key, s.kind, s.result) for s in journal] == [
        ("1", StepKind.SUBFLOW, "4"),
        ("2", StepKind.SUBFLOW, "10"),
    ]
    assert {s.child_run_id for s in journal} == {c.id for c in children}


# -- concurrency ---------------------------------------------------------------------------


@task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
def naps() -> list[float]:
    futures = [nap.submit(s) for s in (0.3, 0.1, 0.2)]
    wait(futures)
    return [f.result() for f in as_completed(futures)]


def test_submitted_tasks_run_concurrently_with_deterministic_keys(harness: TestHarness) -> None:
    assert sorted(naps()) == [0.1, 0.2, 0.3]
    run = _only_run(harness, "naps")
    steps = harness.store.get_steps(run.id)
    assert [(s.key, s.result) for s in steps] == [("1", "0.3"), ("2", "0.1"), ("3", "0.2")]
    # Every step started before any other ended: they overlapped.
    assert max(s.started_at for s in steps) < min(s.ended_at for s in steps)


@flow
def leaves_futures() -> str:
    nap.submit(0.3)
    return "returned"


def test_unresolved_futures_are_awaited_when_the_flow_ends(harness: TestHarness) -> None:
    assert leaves_futures() == "returned"
    run = _only_run(harness, "leaves-futures")
    [step] = harness.store.get_steps(run.id)
    assert step.status is StepStatus.COMPLETED
    assert step.ended_at <= (run.ended_at or 0)


@flow
def chained() -> int:
    first = double.submit(3)
    total: int = add.submit(first, 1).result()
    return total


def test_futures_passed_to_tasks_are_resolved(harness: TestHarness) -> None:
    assert chained() == 7


# -- async ---------------------------------------------------------------------------------


@task
async def async_double(x: int) -> int:
    await asyncio.sleep(0.01)
    return x * 2


@flow
async def async_child(x: int) -> int:
    return await async_double(x)


@flow(log_prints=True)
async def async_parent(x: int) -> int:
    print("starting")
    doubled = await async_double(x)
    return await async_child(doubled) + double(1)


def test_async_flows_tasks_and_children(harness: TestHarness) -> None:
    assert asyncio.run(async_parent(3)) == 14
    run = _only_run(harness, "async-parent")
    assert run.state is RunState.COMPLETED
    assert [(s.name, s.kind) for s in harness.store.get_steps(run.id)] == [
        ("async_double", StepKind.TASK),
        ("async-child", StepKind.SUBFLOW),
        ("double", StepKind.TASK),
    ]
    assert "starting" in [log.message for log in harness.store.get_logs(run.id)]


async def _many_async(n: int) -> list[int]:
    return list(await asyncio.gather(*(async_child(i) for i in range(n))))


def test_concurrent_async_runs_share_the_store(harness: TestHarness) -> None:
    assert asyncio.run(_many_async(20)) == [2 * i for i in range(20)]
    runs = harness.store.list_runs(RunFilter(flow_name="async-child", limit=100))
    assert len(runs) == 20
    assert all(r.state is RunState.COMPLETED for r in runs)


# -- values, context -----------------------------------------------------------------------


@dataclasses.dataclass
class Order:
    sku: str
    quantity: int
    placed: dt.datetime


@task
def place(sku: str) -> Order:
    return Order(sku, 2, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))


@flow
def ordering() -> dict[str, Any]:
    order = place("x-1")
    return {
        "order": order,
        "run": (runtime.flow_run.id, runtime.flow_run.name, runtime.flow_run.parameters),
        "context": tarry.get_run_context() is not None,
        "when": tarry.now(),
    }


def test_rich_results_and_runtime_info(harness: TestHarness) -> None:
    out = ordering()
    run = _only_run(harness, "ordering")
    assert out["order"] == Order("x-1", 2, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    assert out["run"] == (run.id, run.name, {})
    assert out["context"] is True
    steps = harness.store.get_steps(run.id)
    assert [(s.name, s.kind) for s in steps] == [
        ("place", StepKind.TASK),
        ("tarry.now", StepKind.VALUE),
    ]
    assert tarry.serialization.loads(steps[0].result) == out["order"]


def test_tasks_called_outside_a_flow_just_run() -> None:
    assert double(21) == 42
    assert double.submit(2).result() == 4
    assert asyncio.run(async_double(2)) == 4


def test_runs_from_many_threads_all_complete(harness: TestHarness) -> None:
    results: list[str] = []

    def worker(i: int) -> None:
        results.append(three_steps(i))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(f"TOTAL {2 * i + 1}" for i in range(8))
    runs = harness.store.list_runs(RunFilter(flow_name="three-steps"))
    assert [r.state for r in runs] == [RunState.COMPLETED] * 8


@task(timeout_seconds=5)
def raises_its_own_timeout() -> None:
    raise TimeoutError("the remote API timed out")


@flow(timeout_seconds=5)
def guarded() -> None:
    raises_its_own_timeout()


def test_a_timeout_error_raised_by_the_code_is_not_taken_for_tarrys(harness: TestHarness) -> None:
    with pytest.raises(TimeoutError, match="the remote API timed out") as caught:
        guarded()
    assert not isinstance(caught.value, tarry.TaskTimeout | tarry.FlowTimeout)


@flow(timeout_seconds=5)
def flow_around_a_slow_task() -> str:
    return slow_task()


def test_a_task_timeout_inside_a_timed_flow_stays_a_task_timeout(harness: TestHarness) -> None:
    with pytest.raises(tarry.TaskTimeout):
        flow_around_a_slow_task()
    run = _only_run(harness, "flow-around-a-slow-task")
    assert run.state_reason.startswith("TaskTimeout")
