"""DaskTaskRunner: tasks computed by a real Dask cluster's worker processes, journaled here."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from tarry import flow, task
from tarry.states import RunState, StepStatus
from tarry.task_runners import DaskTaskRunner
from tarry.testing import TestHarness


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A Dask cluster of one worker process, shared by the module's flows."""
    with LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster:  # type: ignore[no-untyped-call]
        yield cluster.scheduler_address


@task
def whose(n: int) -> tuple[int, int]:
    return n, os.getpid()


@task
async def whose_async(n: int) -> tuple[int, int]:
    await asyncio.sleep(0)
    return n, os.getpid()


@task(retries=1, retry_delay_seconds=0)
def flaky(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise ConnectionError("the first try fails")
    return "second try worked"


@task
def broken() -> None:
    raise ValueError("bad input on the cluster")


def computed_on(address: str) -> DaskTaskRunner:
    return DaskTaskRunner(address=address)


def test_submitted_tasks_run_in_the_cluster_and_are_journaled_here(
    harness: TestHarness, scheduler: str, tmp_path: Path
) -> None:
    @flow(task_runner=DaskTaskRunner(address=scheduler))
    def fan_out(marker: str) -> list[object]:
        futures = [whose.submit(n) for n in range(3)]
        futures.append(whose_async.submit(3))
        retried = flaky.submit(marker)
        return [f.result() for f in futures] + [retried.result()]

    handle = harness.start(fan_out, str(tmp_path / "marker"))
    *pids, retried = handle.result(timeout=60)
    assert [n for n, _ in pids] == [0, 1, 2, 3]
    assert {pid for _, pid in pids} != {os.getpid()}  # computed by the worker process
    assert retried == "second try worked"
    steps = handle.steps()
    assert [s.status for s in steps] == [StepStatus.COMPLETED] * 5
    assert [s.attempts for s in steps if s.name == "flaky"] == [2]


def test_a_task_that_fails_in_the_cluster_fails_the_run_with_its_error(
    harness: TestHarness, scheduler: str
) -> None:
    @flow(task_runner=DaskTaskRunner(address=scheduler))
    def doomed() -> None:
        broken.submit().result()

    handle = harness.start(doomed)
    with pytest.raises(ValueError, match="bad input on the cluster"):
        handle.result(timeout=60)
    handle.assert_state(RunState.FAILED)
