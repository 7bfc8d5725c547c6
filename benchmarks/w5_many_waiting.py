"""W5 (tarry): N runs waiting for input in one process; memory, threads, resume-all time.

Usage: python w5_many_waiting.py [N=10000]

N *async* flow runs are started concurrently on one event loop
(`asyncio.gather`, in batches of `W5_BATCH`, default N: all at once), each
awaiting `pause_flow_run(wait_for_input=Approval)`. Up to `max_resident_runs`
(default 1000) waits stay parked in memory, for `resident_seconds` (default 5);
the others suspend at once: their coroutine stack unwinds and only the flow
call's small driver waits for the run to become ready. `TARRY_RESIDENT_SECONDS`,
`TARRY_MAX_RESIDENT_RUNS` and the other `TARRY_*` variables change the settings.

Once the database holds N open waits (counted every 50 ms through one read-only
SQLite connection of the script's own), RSS and thread count of this process are
sampled every 0.2 s for `W5_HOLD_S` seconds (default 2, like the DBOS and Prefect
scripts), together with the CPU time the process used meanwhile. Then every run
is answered with `resume_flow_run` from a pool of `W5_SUBMITTERS` threads
(default 4; each answers its share of the runs one after another), and the time
until all N flow calls have returned is measured. `rss_mib_peak` is the
process's peak RSS over the whole benchmark (`ru_maxrss`). `cpu_s_*` are the CPU
seconds (user + system, all threads) the process used in those two phases: on a
shared machine they say more than the wall times.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import os
import resource
import sqlite3
import sys
import time
from collections.abc import Sequence

import tarry_env
from common import emit, process_stats

import tarry
from tarry import host, runtime
from tarry.input import RunInput


class Approval(RunInput):
    approved: bool


run_ids: dict[int, str] = {}


@tarry.flow
async def waiter(i: int) -> bool:
    run_id = runtime.flow_run.id
    assert run_id is not None
    run_ids[i] = run_id
    answer = await tarry.pause_flow_run(wait_for_input=Approval, timeout=3600)
    return bool(answer.approved)


class OpenInputs:
    """Counts the open input waits in the database, through one read-only connection.

    One connection for the whole benchmark: opening a new one per count made
    the process's RSS grow by 1.5 to 2 MiB per count (each connection's page
    cache, freed on close but kept by the allocator).
    """

    def __init__(self, hst: host.Host) -> None:
        path = hst.settings.home / "tarry.db"
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def count(self) -> int:
        """How many input waits are open now (an indexed count)."""
        row = self._conn.execute(
            "SELECT count(*) FROM waits WHERE status = 'open' AND kind = 'input'"
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def answer_all(ids: Sequence[str]) -> None:
    """Answer each run in `ids`, one after another."""
    for run_id in ids:
        tarry.resume_flow_run(run_id, run_input={"approved": True})


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    times = os.times()
    return times.user + times.system


ended: list[asyncio.Task[bool]] = []


async def start_all(n: int, batch: int) -> list[asyncio.Task[bool]]:
    """Start N waiter runs, `batch` at a time (the next batch once the last one has begun)."""
    tasks: list[asyncio.Task[bool]] = []
    for first in range(0, n, batch):
        for i in range(first, min(n, first + batch)):
            task = asyncio.ensure_future(waiter(i))
            task.add_done_callback(ended.append)
            tasks.append(task)
        while len(run_ids) < len(tasks) and not ended:
            await asyncio.sleep(0.01)
    return tasks


async def until_all_waiting(hst: host.Host, n: int, t0: float) -> None:
    """Return once the database holds N open input waits."""
    counter = OpenInputs(hst)
    try:
        await _until_counted(counter, n, t0)
    finally:
        counter.close()


async def _until_counted(counter: OpenInputs, n: int, t0: float) -> None:
    while await asyncio.to_thread(counter.count) < n:
        if ended:
            raise RuntimeError(f"a run ended before it was answered: {ended[0]!r}")
        if time.perf_counter() - t0 > 600:
            raise TimeoutError("the runs did not all wait within 600 s")
        await asyncio.sleep(0.05)


async def sample_while_waiting(seconds: float) -> dict[str, float]:
    """Peak and last RSS / threads, sampled every 0.2 s for `seconds`."""
    samples = [process_stats()]
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        await asyncio.sleep(0.2)
        samples.append(process_stats())
    elapsed = time.perf_counter() - t0
    return {
        "rss_mib_waiting": samples[-1]["rss_mib"],
        "rss_mib_waiting_max": max(s["rss_mib"] for s in samples),
        "threads_waiting": samples[-1]["threads"],
        "threads_waiting_max": max(s["threads"] for s in samples),
        "cpu_pct_while_waiting": round((cpu_seconds() - cpu0) / elapsed * 100, 1),
    }


async def amain(hst: host.Host, n: int) -> dict[str, object]:
    batch = int(os.environ.get("W5_BATCH") or n)
    hold = float(os.environ.get("W5_HOLD_S") or 2.0)
    submitters = int(os.environ.get("W5_SUBMITTERS") or 4)
    base = process_stats()
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    tasks = await start_all(n, batch)
    t_started = time.perf_counter() - t0
    await until_all_waiting(hst, n, t0)
    t_all_waiting = time.perf_counter() - t0
    cpu_start = cpu_seconds() - cpu0
    resident_waiting = hst.hub.resident()
    waiting = await sample_while_waiting(hold)
    resident_at_answer = hst.hub.resident()
    ids = [run_ids[i] for i in range(n)]
    shares = [ids[k::submitters] for k in range(submitters)]
    loop = asyncio.get_running_loop()
    t1, cpu1 = time.perf_counter(), cpu_seconds()
    with cf.ThreadPoolExecutor(submitters, thread_name_prefix="w5-submit") as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, answer_all, s) for s in shares))
    t_sub = time.perf_counter() - t1
    results = await asyncio.gather(*tasks, return_exceptions=True)
    t_done = time.perf_counter() - t1
    cpu_resume = cpu_seconds() - cpu1
    errors = [repr(r)[:200] for r in results if r is not True]
    return {
        "batch": batch,
        "start_calls_s": round(t_started, 2),
        "start_until_all_waiting_s": round(t_all_waiting, 2),
        "cpu_s_until_all_waiting": round(cpu_start, 2),
        "resident_when_all_waiting": resident_waiting,
        "resident_at_answer": resident_at_answer,
        "hold_s": hold,
        "rss_mib_before": base["rss_mib"],
        "threads_before": base["threads"],
        **waiting,
        "submitters": submitters,
        "resume_submit_s": round(t_sub, 2),
        "resume_to_all_done_s": round(t_done, 2),
        "cpu_s_resume_to_all_done": round(cpu_resume, 2),
        "rss_mib_peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads_after": process_stats()["threads"],
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    hst = tarry_env.open_host("tarry-w5-")
    found = asyncio.run(amain(hst, n))
    tarry_env.close_host(hst)
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "W5",
            "n": n,
            **tarry_env.wait_settings(hst.settings),
            **found,
        }
    )


if __name__ == "__main__":
    main()
