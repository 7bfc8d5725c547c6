"""What only Ray does: resources per task from `remote_options`, and a timeout that kills."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import ray

from tarry import flow, task
from tarry.errors import TaskTimeout
from tarry.task_runners import RayTaskRunner, remote_options
from tarry.testing import TestHarness

# The `ray` group: the one xdist worker that runs the tests using Ray, on one cluster.
pytestmark = [pytest.mark.usefixtures("ray_here"), pytest.mark.xdist_group("ray")]


@task
def assigned() -> dict[str, float]:
    context: Any = ray.get_runtime_context()
    return {k: round(v, 3) for k, v in context.get_assigned_resources().items()}


@task(timeout_seconds=0.5)
def stalls(marker: str) -> None:
    time.sleep(3)
    Path(marker).write_text("went on past its timeout")


def test_remote_options_set_the_resources_of_the_tasks_submitted_inside(
    harness: TestHarness,
) -> None:
    @flow(task_runner=RayTaskRunner())
    def resourced() -> list[dict[str, float]]:
        plain = assigned.submit()
        with remote_options(num_cpus=2):
            wide = assigned.submit()
            with remote_options(num_cpus=0.5, resources={"tape": 1}):
                taped = assigned.submit()
        return [plain.result(), wide.result(), taped.result()]

    assert harness.start(resourced).result(timeout=60) == [
        {"CPU": 1.0},
        {"CPU": 2.0},
        {"CPU": 0.5, "tape": 1.0},
    ]


def test_a_task_past_its_timeout_is_stopped_on_the_cluster(
    harness: TestHarness, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"

    @flow(task_runner=RayTaskRunner())
    def patient() -> str:
        try:
            stalls.submit(str(marker)).result()
        except TaskTimeout as exc:
            return str(exc)
        return "no timeout"

    reason = harness.start(patient).result(timeout=60)
    assert reason == (
        "task 'stalls' exceeded its timeout of 0.5s; stopped on the Ray cluster:"
        " its worker process was killed (ray.cancel force=True)"
    )
    time.sleep(4)  # past the end of the task's sleep: its worker is gone, so it wrote nothing
    assert not marker.exists()


def test_a_ray_the_program_started_itself_is_used_as_it_is(harness: TestHarness) -> None:
    @flow(task_runner=RayTaskRunner(address="ray://127.0.0.1:1"))
    def elsewhere() -> dict[str, float]:
        return dict(assigned.submit().result())

    # The test process started Ray itself (a process has one Ray), so the runner
    # computes there, and leaves it running when the flow ends.
    assert harness.start(elsewhere).result(timeout=60) == {"CPU": 1.0}
    assert ray.is_initialized()
