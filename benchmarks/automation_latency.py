"""Event → action latency of automations in one process: one JSON line.

Usage: python automation_latency.py [TRIALS=50] [--across]

A fresh database (SQLite, or PostgreSQL with `TARRY_DATABASE_URL`), one deployment,
one automation "on `bench.ping` run the deployment", and the evaluator and action
runner a worker starts (`automation_runtime.ensure_automations`). Each trial stores a
`bench.ping` event and times until the deployment's run is Pending (polled every
0.5 ms): the evaluator is kicked by the store, commits the firing, and the runner
starts the run. With `--across` the evaluator and runner are a `tarry worker` process
on the same database instead (this process only stores events and polls): on PostgreSQL
the event reaches it by NOTIFY, on SQLite by its poll. The budget: median ≤ 20 ms on
SQLite, ≤ 50 ms on PostgreSQL across processes (issue 19).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from common import emit, summary
from tarry_env import close_host, open_host, versions

from tarry import automation_runtime, deployments, flow, host
from tarry.storage import RunFilter
from tarry.storage import automations as records
from tarry.storage.events import EventRecord

POLL_SECONDS = 0.0005


@flow
def pinged(n: int) -> int:
    return n


def _automation() -> records.AutomationRecord:
    now = time.time()
    action: dict[str, object] = {
        "type": "run-deployment",
        "deployment": "pinged/automation_latency",
        "parameters": {"n": "{{ event.payload.n }}"},
    }
    return records.AutomationRecord(
        id=str(uuid.uuid4()),
        name="ping",
        description="",
        enabled=True,
        trigger=json.dumps({"type": "event", "expect": ["bench.ping"]}),
        actions=json.dumps([action]),
        actions_on_trigger="[]",
        actions_on_resolve="[]",
        created_at=now,
        updated_at=now,
    )


def _trial(hst: host.Host, n: int) -> float:
    store = hst.store
    event = EventRecord(
        id=str(uuid.uuid4()),
        occurred=time.time(),
        event="bench.ping",
        resource={"tarry.resource.id": f"bench.thing.{n}"},
        payload=json.dumps({"n": n}),
    )
    started = time.perf_counter()
    store.add_events([event])
    while len(store.list_runs(RunFilter(flow_name="pinged", limit=n + 2))) < n + 1:
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def _worker(hst: host.Host) -> subprocess.Popen[bytes]:
    """`tarry worker` on this host's database, up (its banner printed)."""
    env = {**os.environ, "TARRY_DATABASE_URL": hst.settings.resolved_database_url}
    env["TARRY_HOME"] = str(hst.settings.home / "worker")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tarry", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert worker.stderr is not None
    worker.stderr.readline()
    return worker


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    across = "--across" in sys.argv
    trials = int(args[0]) if args else 50
    hst = open_host("tarry-automation-latency-")
    worker = None
    try:
        deployments.deploy(pinged, "automation_latency", work_pool_name="bench-none", hst=hst)
        hst.store.put_automation(_automation(), create=True)
        if across:
            worker = _worker(hst)
        else:
            evaluator, _runner = automation_runtime.ensure_automations(hst)
            evaluator.evaluate_once()  # the first round ever: it starts at the newest event
        _trial(hst, 0)  # warm-up: the automations are read, the flow imported
        samples = [_trial(hst, n) for n in range(1, trials + 1)]
        emit(
            {
                "bench": "automation_latency",
                **versions(hst.settings),
                "trials": trials,
                "across_processes": across,
                "latency_ms": summary(samples, scale=1e3),
                "budget_ms": 50 if hst.settings.database_url.startswith("postgres") else 20,
            }
        )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        close_host(hst)


if __name__ == "__main__":
    main()
