"""A task tag limit across two worker processes on PostgreSQL, with and without a kill.

Ten runs of 20 tasks tagged `db` (200 tasks) under `tag:db` = 3: the tasks themselves
record when they ran, in a file of their own, so the test sees executions of both
processes on one clock. A worker SIGKILLed in the middle leaves its slots behind; the
other worker frees them (their process is gone) and finishes every run.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import concurrency, config, deployments, host, service
from tarry.engine import spec
from tarry.states import RunState
from tarry.storage import records
from tests.conftest import ROOT, empty_postgres_schema, postgres_session_url, subprocess_env
from tests.e2e.flows import tag_probe
from tests.polling import until
from tests.processes import SLOW

WORKER = """
import sys
from tarry import worker
runner = worker.Worker(max_runs=int(sys.argv[1]))
try:
    runner.run()
except KeyboardInterrupt:
    runner.shutdown(5)
"""
RUNS = 10
TASKS = 20
LIMIT = 3

pytestmark = pytest.mark.slow


@pytest.fixture
def this_process(tarry_home: Path) -> Iterator[host.Host]:
    empty_postgres_schema()
    settings = config.Settings(home=tarry_home, database_url=postgres_session_url())
    hst = host.Host(settings)
    yield hst
    hst.close()


@contextlib.contextmanager
def workers(home: Path, count: int) -> Iterator[list[subprocess.Popen[str]]]:
    env = subprocess_env(
        home, TARRY_DATABASE_URL=postgres_session_url(), TARRY_WORKER_POLL_SECONDS="0.05"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, "5"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.communicate(timeout=SLOW)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()


def start_runs(hst: host.Host, probe_db: str, hold: float) -> list[records.RunRecord]:
    concurrency.create_tag_limit("db", LIMIT, hst=hst)
    deployments.deploy(spec.load_flow("tests.e2e.flows.tag_probe:fan_out"), "db", hst=hst)
    params = {"probe_db": probe_db, "n": TASKS, "hold": hold}
    return [service.start_run("fan-out/db", params, hst=hst) for _ in range(RUNS)]


def completed(hst: host.Host, runs: list[records.RunRecord]) -> bool:
    return all(service.get_run(r.id, hst=hst).state is RunState.COMPLETED for r in runs)


def test_no_more_than_the_limit_run_at_once_across_two_workers(
    this_process: host.Host, tarry_home: Path, tmp_path: Path
) -> None:
    probe_db = str(tmp_path / "probe.db")
    runs = start_runs(this_process, probe_db, hold=0.02)

    with workers(tarry_home, 2):
        until(lambda: completed(this_process, runs), bool, timeout=180)

    ran = tag_probe.executions(probe_db)
    assert len(ran) == RUNS * TASKS
    assert tag_probe.most_at_once(ran, {}) == LIMIT
    assert len({pid for pid, _, _ in ran}) == 2  # both workers ran tasks
    assert [service.get_run(r.id, hst=this_process).result for r in runs] == ["190"] * RUNS
    assert concurrency.get_limit("tag:db", hst=this_process).held_slots == 0


def test_a_killed_worker_frees_its_slots_and_nothing_is_stuck(
    this_process: host.Host, tarry_home: Path, tmp_path: Path
) -> None:
    probe_db = str(tmp_path / "probe.db")
    runs = start_runs(this_process, probe_db, hold=0.1)

    with workers(tarry_home, 2) as procs:
        until(lambda: len(tag_probe.executions(probe_db)), lambda n: n >= 40, timeout=120)
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.time()
        until(lambda: completed(this_process, runs), bool, timeout=180)

    ran = tag_probe.executions(probe_db)
    cut_short = [r for r in ran if r[2] is None]
    assert {pid for pid, _, _ in cut_short} <= {victim.pid}
    assert tag_probe.most_at_once(ran, {victim.pid: killed_at}) <= LIMIT
    # Within a third of a lease the survivor ran LIMIT tasks at once: the dead worker's
    # slots were freed because its process was gone, not because their leases lapsed.
    soon = killed_at + this_process.settings.lease_seconds / 3
    early = [r for r in ran if killed_at < r[1] < soon]
    assert tag_probe.most_at_once(early, {}) == LIMIT
    assert [service.get_run(r.id, hst=this_process).result for r in runs] == ["190"] * RUNS
    assert concurrency.get_limit("tag:db", hst=this_process).held_slots == 0
