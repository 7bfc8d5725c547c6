"""A cluster of each kind, shared by the flows of the tests, and a runner per kind.

The Dask cluster is started once per test module; the Ray one once per test session (a
local Ray takes 10 to 60 s to start on two cores). The tests that use Ray run in the
`ray` xdist group, so under `pytest -n` one worker starts it, once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import ray
from distributed import LocalCluster

from tarry.task_runners import DaskTaskRunner, RayTaskRunner, TaskRunner, ThreadPoolTaskRunner

RUNNERS = ["threads", "dask", pytest.param("ray", marks=pytest.mark.xdist_group("ray"))]


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A Dask cluster of one worker process with two threads."""
    with LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster:  # type: ignore[no-untyped-call]
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def ray_here() -> Iterator[None]:
    """A local Ray started by the test process itself: `RayTaskRunner()` uses it as it is.

    Two CPUs, and two units of a custom `tape` resource for `remote_options`. Shared by
    the whole session: no test may shut it down or change it.
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
