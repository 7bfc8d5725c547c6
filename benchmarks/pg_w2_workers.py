"""W2 across processes (tarry, PostgreSQL): N trivial runs executed by WORKERS `tarry worker`s.

Usage: python pg_w2_workers.py [N=2000] [WORKERS=1] [stream|backlog]

WORKERS `tarry worker --max-runs $PG_W2_MAX_RUNS` (default 8, the CLI's default) processes
run on a fresh schema. This process registers `pg_flows:trivial` as a deployment and creates
N Pending runs of it through `tarry.deployments.start` (what `POST /api/runs` does), from
`PG_W2_CREATORS` threads (default 4), each creating its share one after another; each insert
notifies the workers (LISTEN/NOTIFY), which claim runs with `FOR UPDATE SKIP LOCKED`.

* `stream` (default): the workers run while the runs are created.
  `wf_per_s` = N / (first create -> all N Completed), Completed counted every 10 ms on a
  connection of this process's own (the count reads the whole table: counting more often
  costs the database noticeable CPU); `create_s` is the creating alone.
* `backlog`: the workers are stopped (SIGSTOP) while the N runs are created, then continued
  (SIGCONT); `wf_per_s` = N / (SIGCONT -> all N Completed): how fast the workers drain a
  queue, whatever creating costs.
* `exec_wf_per_s` = N / (first `started_at` -> last `ended_at` in the database).
* `per_run_ms`: created_at -> ended_at of each run (queueing included).
* `by_worker`: how many runs each worker ran (each run returns its worker's pid).
* CPU seconds used during the measured part (in `backlog` mode the draining only):
  `worker_cpu_s` by each worker, `postgres_cpu_s` by all `postgres` processes (other
  users of the server too), `backends_cpu_s` by the backends serving tarry's connections
  only (the workers' and this process's host's; not the counting of Completed runs, not
  the server's shared processes such as the WAL writer),
  `bench_cpu_s` by this process (creating and counting); `host_busy_pct`: how busy the
  machine's cores were (everything on it, other people's tests too).

A warm-up of 20 runs per worker runs first (imports, connections), not counted.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import os
import signal
import sys
import time

import pg_flows
import tarry_env
from common import emit, summary
from pg_fleet import Fleet, fleet, host_cpu, postgres_cpu, postgres_cpu_used, until

from tarry import deployments

POLL_S = 0.01


def create(f: Fleet, name: str, count: int, creators: int) -> list[str]:
    """Create `count` Pending runs of deployment `name`; their ids."""

    def some(indexes: range) -> list[str]:
        return [deployments.start(name, {"i": i}, hst=f.host).id for i in indexes]

    if creators <= 1:
        return some(range(count))
    shares = [range(k, count, creators) for k in range(creators)]
    with cf.ThreadPoolExecutor(creators) as pool:
        return [run_id for ids in pool.map(some, shares) for run_id in ids]


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def completed(f: Fleet, since: float) -> int:
    return int(
        f.value("SELECT count(*) FROM runs WHERE state = 'Completed' AND created_at >= %s", since)
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    max_runs = int(os.environ.get("PG_W2_MAX_RUNS") or 8)
    mode = sys.argv[3] if len(sys.argv) > 3 else "stream"
    assert mode in ("stream", "backlog"), mode
    creators = int(os.environ.get("PG_W2_CREATORS") or 4)
    with fleet("tarry-pgw2-") as f:
        procs = [f.worker(f"worker-{k + 1}", max_runs) for k in range(workers)]
        name = f.deploy(pg_flows.trivial)
        t_warm = time.time()
        create(f, name, 20 * workers, 1)
        until(lambda: completed(f, t_warm), lambda c: c >= 20 * workers, "the warm-up", 120)
        time.sleep(0.5)
        f.check_alive()

        cpu0 = [p.cpu_seconds() for p in procs]
        pg0, host0, me0, db0 = postgres_cpu(), host_cpu(), _own_cpu(), f.backends_cpu()
        t_first = time.time()
        if mode == "backlog":
            for proc in procs:
                proc.popen.send_signal(signal.SIGSTOP)
        t0 = time.perf_counter()
        ids = create(f, name, n, creators)
        create_s = time.perf_counter() - t0
        if mode == "backlog":
            # The CPU figures then cover the draining only.
            cpu0 = [p.cpu_seconds() for p in procs]
            pg0, host0, me0, db0 = postgres_cpu(), host_cpu(), _own_cpu(), f.backends_cpu()
            t0 = time.perf_counter()
            for proc in procs:
                proc.popen.send_signal(signal.SIGCONT)
        until(lambda: completed(f, t_first), lambda c: c >= n, f"{n} runs", 600, POLL_S)
        total = time.perf_counter() - t0
        cpu = [round(p.cpu_seconds() - c, 2) for p, c in zip(procs, cpu0, strict=True)]
        pg_cpu = postgres_cpu_used(pg0)
        db_cpu = postgres_cpu_used(db0, f.backends_cpu())
        own_cpu = round(_own_cpu() - me0, 2)
        host1 = host_cpu()
        rows = f.rows(
            "SELECT created_at, started_at, ended_at, result FROM runs WHERE id = ANY(%s)", ids
        )
        states = f.rows("SELECT state, count(*) FROM runs WHERE id = ANY(%s) GROUP BY 1", ids)
        settings = f.host.settings
    exec_s = max(r[2] for r in rows) - min(r[1] for r in rows)
    pids = collections.Counter(json.loads(r[3]) for r in rows)
    emit(
        {
            **tarry_env.versions(settings),
            "workload": "W2-workers",
            "workflows": n,
            "workers": workers,
            "feed": mode,
            "max_runs": max_runs,
            "creators": creators,
            "total_s": round(total, 3),
            "wf_per_s": round(n / total, 1),
            "create_s": round(create_s, 3),
            "create_per_s": round(n / create_s, 1),
            "exec_s": round(exec_s, 3),
            "exec_wf_per_s": round(n / exec_s, 1),
            "per_run_ms": summary([r[2] - r[0] for r in rows], 1e3, 2),
            "by_worker": sorted(pids.values(), reverse=True),
            "worker_cpu_s": cpu,
            "postgres_cpu_s": pg_cpu,
            "backends_cpu_s": db_cpu,
            "bench_cpu_s": own_cpu,
            "host_busy_pct": round((host1[0] - host0[0]) / (host1[1] - host0[1]) * 100, 1),
            "states": dict(states),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
