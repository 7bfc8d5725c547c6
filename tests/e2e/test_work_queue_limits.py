"""Queue priority and limits across worker processes, as the flows themselves measure them.

Three queues of one pool (priorities 1/2/3, limits 2/1/1), 30 runs, two worker
processes of one slot each, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import config, deployments, host, service, work_pools
from tarry.engine import spec
from tarry.states import RunState
from tarry.storage import records
from tests.conftest import ROOT, empty_postgres_schema, postgres_session_url, subprocess_env
from tests.e2e.flows import slot_probe
from tests.polling import until
from tests.processes import SLOW

WORKER = """
import sys
from tarry import host, worker
runner = worker.Worker(max_runs=int(sys.argv[1]), pool=sys.argv[2])
try:
    runner.run()
except KeyboardInterrupt:
    runner.shutdown(5)
"""
LIMITS = {"q1": 2, "q2": 1, "q3": 1}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tarry_home: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tarry_home}/tarry.db"
    empty_postgres_schema()
    return postgres_session_url()


@pytest.fixture
def this_process(database_url: str, tarry_home: Path) -> Iterator[host.Host]:
    hst = host.Host(config.Settings(home=tarry_home, database_url=database_url))
    yield hst
    hst.close()


@contextlib.contextmanager
def workers(home: Path, url: str, count: int, slots: int) -> Iterator[None]:
    """`count` worker processes of pool `acc` with `slots` each, until the block ends."""
    env = subprocess_env(home, TARRY_DATABASE_URL=url, TARRY_WORKER_POLL_SECONDS="0.05")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(slots), "acc"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.communicate(timeout=SLOW)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()


def states(hst: host.Host, runs: list[records.RunRecord]) -> list[RunState]:
    return [service.get_run(r.id, hst=hst).state for r in runs]


def all_completed(found: list[RunState]) -> bool:
    return all(state is RunState.COMPLETED for state in found)


def deploy_queues(hst: host.Host, entrypoint: str) -> None:
    work_pools.create_work_pool("acc", hst=hst)
    flow = spec.load_flow(entrypoint)
    for priority, (name, limit) in enumerate(LIMITS.items(), start=1):
        work_pools.create_work_queue(
            name, "acc", priority=priority, concurrency_limit=limit, hst=hst
        )
        deployments.deploy(flow, name, work_pool_name="acc", work_queue_name=name, hst=hst)


def test_runs_start_by_queue_priority_and_no_queue_exceeds_its_limit(
    this_process: host.Host, tarry_home: Path, database_url: str, tmp_path: Path
) -> None:
    probe_db = str(tmp_path / "probe.db")
    deploy_queues(this_process, "tests.e2e.flows.slot_probe:probe")
    # Made lowest priority first: age alone would start q3 first.
    started = [
        service.start_run(
            f"probe/{queue}", {"queue": queue, "probe_db": probe_db}, hst=this_process
        )
        for _ in range(10)
        for queue in ("q3", "q2", "q1")
    ]

    with workers(tarry_home, database_url, count=2, slots=1):
        until(lambda: states(this_process, started), all_completed, timeout=120)

    ended = [service.get_run(r.id, hst=this_process) for r in started]
    first_start = {q: min(r.started_at or 0 for r in ended if r.work_queue == q) for q in LIMITS}
    last_q1 = max(r.started_at or 0 for r in ended if r.work_queue == "q1")
    # Two slots: q1 (limit 2) fills both until its last run has started.
    assert last_q1 < first_start["q2"]
    assert last_q1 < first_start["q3"]
    most = slot_probe.most_at_once(probe_db)
    assert all(most[q] <= LIMITS[q] for q in LIMITS), most
    assert most["q1"] == 2  # both workers took q1 runs at once


def test_a_suspended_run_frees_its_slot_for_the_next(
    this_process: host.Host, tarry_home: Path, database_url: str, tmp_path: Path
) -> None:
    probe_db = str(tmp_path / "probe.db")
    deploy_queues(this_process, "tests.e2e.flows.slot_probe:suspends")
    params = {"queue": "q2", "probe_db": probe_db}
    first = service.start_run("suspends/q2", params, hst=this_process)
    second = service.start_run("suspends/q2", params, hst=this_process)

    with workers(tarry_home, database_url, count=1, slots=4):
        # q2 holds one slot: the second run starts only once the first has left memory.
        until(lambda: len(this_process.store.open_inputs()), lambda n: n == 2, timeout=60)
        assert service.get_run(first.id, hst=this_process).lease_owner is None
        for run in (first, second):
            service.submit_input(run.id, "go", key="go", hst=this_process)
        until(lambda: states(this_process, [first, second]), all_completed, timeout=60)

    assert service.get_run(first.id, hst=this_process).result == '"q2: go"'
    assert slot_probe.most_at_once(probe_db)["q2"] == 1
