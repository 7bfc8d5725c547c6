"""W5 across processes (tarry, PostgreSQL): N runs waiting for input in 2 worker processes.

Usage: python pg_w5_two_workers.py [N=10000] [WORKERS=2]

WORKERS `tarry worker --max-runs $PG_W5_MAX_RUNS` (default 8, the CLI's default) processes
run on a fresh schema with tarry's settings (`TARRY_*` variables given to this script reach
them: e.g. `TARRY_RESIDENT_SECONDS=0` suspends every wait at once). This process creates N
Pending runs of `pg_flows:w5_waiter` through `tarry.deployments.start` from `PG_W5_CREATORS`
threads (default 4); each run pauses with `pause_flow_run(wait_for_input=Approval)`.

* `start_until_all_waiting_s`: first create -> N open input waits in the database (counted
  every 50 ms on a connection of this process's own); `create_s` the creating alone.
* Then, for `W5_HOLD_S` (2 s), VmRSS and Threads of each worker are sampled every 0.2 s
  (`workers[]`: last and largest sample, `VmHWM` peak, CPU % of one core while waiting);
  `leased_when_all_waiting` counts runs still held in a worker's memory (the rest are
  suspended: no thread, no lease).
* Then all N are answered from this process with `tarry.service.submit_input` (what
  `POST /api/runs/{id}/resume` calls) from `W5_SUBMITTERS` threads (default 4), each
  answering its share one after another: `resume_submit_s`; `resume_to_all_done_s` ends when
  the database holds N Completed runs (the workers claim the answered runs, replay them up to
  the wait and finish them).
* `by_worker`: how many runs each worker finished.

`PG_W5_WAIT_TIMEOUT` (default 900 s) bounds the wait for all N to be waiting: the line then
reports how many were waiting (`waiting_at_timeout`) and skips the rest.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import os
import sys
import time
from collections.abc import Sequence

import pg_flows
import tarry_env
from common import emit
from pg_fleet import Fleet, Proc, fleet
from pg_w2_workers import create

from tarry import service


def open_inputs(f: Fleet) -> int:
    return int(f.value("SELECT count(*) FROM waits WHERE status = 'open' AND kind = 'input'"))


def completed(f: Fleet) -> int:
    return int(f.value("SELECT count(*) FROM runs WHERE state = 'Completed'"))


def peak_rss_mib(proc: Proc) -> float:
    with open(f"/proc/{proc.pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def hold(procs: Sequence[Proc], seconds: float) -> list[dict[str, float]]:
    """Sample every worker every 0.2 s for `seconds`; per worker: last, max, CPU %."""
    samples = [[p.stats()] for p in procs]
    cpu0, t0 = [p.cpu_seconds() for p in procs], time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        time.sleep(0.2)
        for found, proc in zip(samples, procs, strict=True):
            found.append(proc.stats())
    elapsed = time.perf_counter() - t0
    return [
        {
            "pid": proc.pid,
            "rss_mib_waiting": found[-1]["rss_mib"],
            "rss_mib_waiting_max": max(s["rss_mib"] for s in found),
            "threads_waiting": found[-1]["threads"],
            "threads_waiting_max": max(s["threads"] for s in found),
            "cpu_pct_while_waiting": round((proc.cpu_seconds() - c) / elapsed * 100, 1),
        }
        for proc, found, c in zip(procs, samples, cpu0, strict=True)
    ]


def answer_all(f: Fleet, ids: Sequence[str]) -> None:
    for run_id in ids:
        service.submit_input(run_id, {"approved": True}, responder="w5", hst=f.host)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    max_runs = int(os.environ.get("PG_W5_MAX_RUNS") or 8)
    creators = int(os.environ.get("PG_W5_CREATORS") or 4)
    submitters = int(os.environ.get("W5_SUBMITTERS") or 4)
    hold_s = float(os.environ.get("W5_HOLD_S") or 2.0)
    wait_timeout = float(os.environ.get("PG_W5_WAIT_TIMEOUT") or 900)
    found: dict[str, object] = {}
    with fleet("tarry-pgw5-") as f:
        procs = [f.worker(f"worker-{k + 1}", max_runs) for k in range(workers)]
        time.sleep(1.0)  # let them settle (listener, watcher, heartbeat threads)
        before = [p.stats() for p in procs]
        name = f.deploy(pg_flows.w5_waiter)
        t0 = time.perf_counter()
        ids = create(f, name, n, creators)
        found["create_s"] = round(time.perf_counter() - t0, 2)
        waiting = open_inputs(f)
        while waiting < n and time.perf_counter() - t0 < wait_timeout:
            f.check_alive()
            time.sleep(0.05)
            waiting = open_inputs(f)
        if waiting < n:
            found["waiting_at_timeout"] = waiting
            found["timeout_s"] = wait_timeout
        else:
            found["start_until_all_waiting_s"] = round(time.perf_counter() - t0, 2)
            found["leased_when_all_waiting"] = f.value(
                "SELECT count(*) FROM runs WHERE state = 'Waiting' AND lease_owner IS NOT NULL"
            )
            found["workers"] = hold(procs, hold_s)
            for sample, proc, base in zip(found["workers"], procs, before, strict=True):  # type: ignore[call-overload]
                sample["rss_mib_before"] = base["rss_mib"]
                sample["threads_before"] = base["threads"]
                sample["rss_mib_peak_while_waiting"] = peak_rss_mib(proc)
            shares = [ids[k::submitters] for k in range(submitters)]
            t1 = time.perf_counter()
            with cf.ThreadPoolExecutor(submitters) as pool:
                list(pool.map(lambda share: answer_all(f, share), shares))
            found["resume_submit_s"] = round(time.perf_counter() - t1, 2)
            done = completed(f)
            while done < n and time.perf_counter() - t1 < 600:
                f.check_alive()
                time.sleep(0.05)
                done = completed(f)
            found["resume_to_all_done_s"] = round(time.perf_counter() - t1, 2)
            found["completed"] = done
            found["rss_mib_peak"] = [peak_rss_mib(p) for p in procs]
            found["threads_after"] = [p.stats()["threads"] for p in procs]
            results = f.rows("SELECT result FROM runs WHERE state = 'Completed'")
            found["by_worker"] = sorted(
                collections.Counter(json.loads(r[0]) for r in results).values(), reverse=True
            )
        states = f.rows("SELECT state, count(*) FROM runs GROUP BY 1")
        found["states"] = dict(states)
        settings = f.host.settings
    emit(
        {
            **tarry_env.versions(settings),
            "workload": "W5-workers",
            "n": n,
            "workers_n": workers,
            "max_runs": max_runs,
            **tarry_env.wait_settings(settings),
            "creators": creators,
            "submitters": submitters,
            "hold_s": hold_s,
            **found,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
