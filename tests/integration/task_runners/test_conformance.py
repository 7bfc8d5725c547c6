"""Every task runner keeps one contract: the thread pool, Dask and Ray alike.

A submitted task is a journaled step of the flow's run whatever computes it:
results, `.map`, `wait`/`as_completed`, errors of the task's own type, retries,
timeouts, async tasks, and a replay that never runs a finished task again.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tarry import flow, loader, sleep, task
from tarry.errors import TaskTimeout
from tarry.futures import as_completed, wait
from tarry.states import RunState, StepStatus
from tarry.task_runners import TaskRunner, ThreadPoolTaskRunner
from tarry.testing import TestHarness, tarry_test_harness


def computes_here(runner: TaskRunner) -> bool:
    return isinstance(runner, ThreadPoolTaskRunner)


@task
def whose(n: int) -> tuple[int, int]:
    return n, os.getpid()


@task
async def whose_async(n: int) -> tuple[int, int]:
    await asyncio.sleep(0.01)
    return n, os.getpid()


@task
def double(n: int) -> int:
    return 2 * n


@task
def nap(seconds: float, label: str) -> str:
    time.sleep(seconds)
    return label


@task
def broken(shelf: str) -> None:
    raise KeyError(f"no shelf {shelf}")


@task(retries=1, retry_delay_seconds=0)
def flaky(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise ConnectionError("the first try fails")
    return "second try worked"


@task(timeout_seconds=0.5)
def stalls(marker: str) -> None:
    time.sleep(4)
    Path(marker).write_text("went on past its timeout")


@task(timeout_seconds=0.5)
def spins(marker: str) -> None:
    end = time.monotonic() + 2.5
    while time.monotonic() < end:  # pure Python: interruptible at any bytecode
        pass
    Path(marker).write_text("went on past its timeout")


@task
def counted(log: str, n: int) -> int:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"{n}\n")
    return 10 * n


def test_submitted_tasks_return_their_results_and_are_journaled(
    harness: TestHarness, runner: TaskRunner
) -> None:
    @flow(task_runner=runner)
    def fan_out() -> list[tuple[int, int]]:
        futures = [whose.submit(n) for n in range(3)]
        futures.append(whose_async.submit(3))
        return [f.result() for f in futures]

    handle = harness.start(fan_out)
    answers = handle.result(timeout=60)
    assert [n for n, _ in answers] == [0, 1, 2, 3]
    pids = {pid for _, pid in answers}
    assert (pids == {os.getpid()}) is computes_here(runner)
    assert [s.status for s in handle.steps()] == [StepStatus.COMPLETED] * 4


def test_map_runs_one_step_per_item(harness: TestHarness, runner: TaskRunner) -> None:
    @flow(task_runner=runner)
    def doubled(numbers: list[int]) -> list[int]:
        return [f.result() for f in double.map(numbers)]

    handle = harness.start(doubled, [1, 2, 3])
    assert handle.result(timeout=60) == [2, 4, 6]
    assert handle.step_names() == ["double"] * 3


def test_as_completed_yields_the_first_finished_first(
    harness: TestHarness, runner: TaskRunner
) -> None:
    @flow(task_runner=runner)
    def race() -> tuple[list[str], int]:
        futures = [nap.submit(1.5, "slow"), nap.submit(0.05, "fast")]
        order = [f.result() for f in as_completed(futures)]
        done, not_done = wait(futures)
        return order, len(done) - len(not_done)

    order, done = harness.start(race).result(timeout=60)
    assert order == ["fast", "slow"]
    assert done == 2


def test_a_failed_task_raises_its_own_exception_type(
    harness: TestHarness, runner: TaskRunner
) -> None:
    @flow(task_runner=runner)
    def shelves() -> tuple[str, str]:
        try:
            broken.submit("B4").result()
        except KeyError as exc:
            return type(exc).__name__, str(exc)
        return "no error", ""

    handle = harness.start(shelves)
    assert handle.result(timeout=60) == ("KeyError", "'no shelf B4'")
    [step] = handle.steps()
    assert step.status is StepStatus.FAILED


def test_an_unhandled_task_error_fails_the_run_with_it(
    harness: TestHarness, runner: TaskRunner
) -> None:
    @flow(task_runner=runner)
    def doomed() -> None:
        broken.submit("C1").result()

    handle = harness.start(doomed)
    with pytest.raises(KeyError, match="no shelf C1"):
        handle.result(timeout=60)
    handle.assert_state(RunState.FAILED)


def test_a_failed_try_is_retried(harness: TestHarness, runner: TaskRunner, tmp_path: Path) -> None:
    @flow(task_runner=runner)
    def retried(marker: str) -> str:
        return str(flaky.submit(marker).result())

    handle = harness.start(retried, str(tmp_path / "marker"))
    assert handle.result(timeout=60) == "second try worked"
    assert [s.attempts for s in handle.steps()] == [2]


def test_a_task_past_its_timeout_fails_with_task_timeout(
    harness: TestHarness, runner: TaskRunner, tmp_path: Path
) -> None:
    @flow(task_runner=runner)
    def patient(marker: str) -> str:
        try:
            stalls.submit(marker).result()
        except TaskTimeout as exc:
            return str(exc)
        return "no timeout"

    handle = harness.start(patient, str(tmp_path / "marker"))
    reason = handle.result(timeout=60)
    assert reason.startswith("task 'stalls' exceeded its timeout of 0.5s")
    [step] = handle.steps()
    assert step.status is StepStatus.FAILED
    assert step.ended_at - step.started_at < 4  # it did not wait for the sleep to end


def test_a_busy_task_past_its_timeout_is_stopped_where_it_is(
    harness: TestHarness, runner: TaskRunner, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"

    @flow(task_runner=runner)
    def impatient() -> str:
        try:
            spins.submit(str(marker)).result()
        except TaskTimeout as exc:
            return str(exc)
        return "no timeout"

    reason = harness.start(impatient).result(timeout=60)
    assert reason.startswith("task 'spins' exceeded its timeout of 0.5s"), reason
    time.sleep(3)  # past the loop's end: had the task gone on, the marker would be there
    assert not marker.exists()


def test_a_replayed_run_does_not_run_its_finished_tasks_again(
    runner: TaskRunner, tmp_path: Path
) -> None:
    log = tmp_path / "executions.log"

    @flow(task_runner=runner)
    def counts(log: str) -> list[int]:
        first = [counted.submit(log, n).result() for n in range(3)]
        sleep(60)  # the run leaves memory here, and is replayed when it wakes
        return [*first, counted.submit(log, 3).result()]

    with tarry_test_harness(resident_seconds=0, fake_clock=True) as suspending:
        handle = suspending.start(counts, str(log))
        suspending.wait_for_state(handle.id, RunState.WAITING, timeout=60)
        suspending.advance(61)
        assert handle.result(timeout=60) == [0, 10, 20, 30]
    assert sorted(log.read_text().split()) == ["0", "1", "2", "3"]


def test_an_async_flow_submits_sync_and_async_tasks(
    harness: TestHarness, runner: TaskRunner
) -> None:
    @flow(task_runner=runner)
    async def mixed() -> list[int]:
        pairs = [whose_async.submit(1), whose.submit(2)]
        doubled = double.map([3, 4])
        await asyncio.sleep(0)
        return [f.result()[0] for f in pairs] + [f.result() for f in doubled]

    assert harness.start(mixed).result(timeout=60) == [1, 2, 6, 8]


SCRIPT = """
from tarry import task

def hello(name: str) -> str:
    return f"hello {name}"

@task
def greet(name: str) -> str:
    return hello(name)
"""


def test_tasks_of_a_file_loaded_by_its_path_reach_the_workers(
    harness: TestHarness, runner: TaskRunner, tmp_path: Path
) -> None:
    # `tarry worker` loads a run's flow from its file path under a module name of
    # its own, which no worker process can import: the task's function calls a plain
    # function of that module, which travels with it.
    script = tmp_path / "greeter.py"
    script.write_text(SCRIPT)
    greet = loader.load_object(f"{script}:greet")

    @flow(task_runner=runner)
    def greetings() -> list[str]:
        return [f.result() for f in greet.map(["ford", "zaphod"])]

    assert harness.start(greetings).result(timeout=60) == ["hello ford", "hello zaphod"]
