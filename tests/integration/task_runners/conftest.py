"""One cluster of each kind per test module, shared by its flows, and a runner per kind."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import ray
from distributed import LocalCluster

from tarry.task_runners import DaskTaskRunner, RayTaskRunner, TaskRunner, ThreadPoolTaskRunner

RUNNERS = ["threads", "dask", "ray"]


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A Dask cluster of one worker process with two threads."""
    with LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster:  # type: ignore[no-untyped-call]
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def ray_here() -> Iterator[None]:
    """A local Ray started by the test process itself: `RayTaskRunner()` uses it as it is.

    Two CPUs, and two units of a custom `tape` resource for `remote_options`.
    """
    ray.init(
        address="local",
        include_dashboard=False,
        num_cpus=2,
        resources={"tape": 2},
        logging_level=logging.ERROR,
    )
    yield
    ray.shutdown()


@pytest.fixture(params=RUNNERS)
def runner(request: pytest.FixtureRequest) -> TaskRunner:
    """Each kind of runner in turn; the clusters start when first needed."""
    if request.param == "dask":
        return DaskTaskRunner(address=request.getfixturevalue("dask_scheduler"))
    if request.param == "ray":
        request.getfixturevalue("ray_here")
        return RayTaskRunner()
    return ThreadPoolTaskRunner(max_workers=4)
