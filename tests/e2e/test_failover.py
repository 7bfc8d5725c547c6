"""Failover within a second on PostgreSQL (issue 25): a dead worker's runs move on at once.

Two `tarry worker` processes run on "other hosts" (each in a UTS namespace of its own, so no
process can check another's pid, as in a fleet of machines) with the default 30 s lease. The one
that holds a run in the middle of a step is killed with SIGKILL; the other has the run Running
again long before the lease would have lapsed, because PostgreSQL released the dead worker's
liveness lock with its connection. Before issue 25 the run waited for the full lease.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tarry import config, host, service
from tarry import server as tarry_server
from tests.e2e.fleet_processes import Process, elsewhere, fleet, until

FLOWS = "tests/e2e/flows/fleet.py"
LEASE_SECONDS = 30.0
"""The default lease: a takeover that waited for it would take 30 s."""
TAKEN_OVER_WITHIN_SECONDS = 10.0
"""Well before the lease lapses; no tight timing (issue 25's target is a second)."""
SETTINGS = {
    "TARRY_LEASE_SECONDS": f"{LEASE_SECONDS:g}",
    "TARRY_WORKER_POLL_SECONDS": "0.1",
    "TARRY_LOGGING_LEVEL": "WARNING",
}


def _rows(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _start_here(url: str, flow: str, parameters: dict[str, Any]) -> str:
    """Deploy `flow` of the flows file and start one run of it from this process."""
    hst = host.Host(config.Settings(database_url=url))
    try:
        [deployment] = tarry_server.deploy_entrypoints(hst, [f"{FLOWS}:{flow}"])
        return service.start_run(deployment.name, parameters, hst=hst).id
    finally:
        hst.close()


def _holder(url: str, run_id: str) -> tuple[str, str]:
    [(state, owner)] = _rows(url, "SELECT state, lease_owner FROM runs WHERE id = %s", run_id)
    return str(state), str(owner)


def _worker_of(workers: list[Process], owner: str) -> Process:
    # A lease owner is `host:pid:start`.
    pid = int(owner.rsplit(":", 2)[1])
    return next(w for w in workers if w.pid == pid)


def test_a_killed_workers_run_is_taken_over_long_before_its_lease_lapses(
    tmp_path: Path, postgres_url: str
) -> None:
    log = tmp_path / "executions.txt"
    workers_elsewhere = [elsewhere(f"tarry-far-{n}") for n in (1, 2)]
    if None in workers_elsewhere:
        pytest.skip("no UTS namespace here to put a worker on another host")
    with fleet(tmp_path, postgres_url, **SETTINGS) as processes:
        workers = [
            processes.worker(f"worker-{n}", prefix=prefix or ())
            for n, prefix in enumerate(workers_elsewhere, 1)
        ]
        run_id = _start_here(postgres_url, "steps", {"log": str(log), "seconds": 2.0})
        with processes.explained():
            until(lambda: log.exists() and " s1 " in log.read_text(), "step s1", timeout=30)
            state, owner = _holder(postgres_url, run_id)
            assert state == "Running"
            victim = _worker_of(workers, owner)
            victim.kill()
            killed_at = time.monotonic()
            until(
                lambda: _holder(postgres_url, run_id)[1] != owner,
                "the other worker to take the run over",
                timeout=LEASE_SECONDS + 10,
            )
            taken_over_after = time.monotonic() - killed_at
            state, successor = _holder(postgres_url, run_id)
            until(
                lambda: _holder(postgres_url, run_id)[0] == "Completed",
                "the run to complete",
                timeout=60,
            )

    assert state == "Running"
    assert _worker_of(workers, successor) is not victim
    assert taken_over_after < TAKEN_OVER_WITHIN_SECONDS, (
        f"taken over {taken_over_after:.1f} s after the kill: it waited for the lease"
    )
    reasons = [
        str(r)
        for (r,) in _rows(
            postgres_url, "SELECT reason FROM run_transitions WHERE run_id = %s", run_id
        )
    ]
    assert f"recovered from {owner}, which stopped" in reasons
    [(result,)] = _rows(postgres_url, "SELECT result FROM runs WHERE id = %s", run_id)
    assert len(json.loads(str(result))) == 3  # s0 returned from the journal, s1 and s2 ran
