"""Schedule lag: 1,000 deployments each due every minute, due time → Running, on SQLite.

Usage: python schedule_lag.py [DEPLOYMENTS=1000] [spread|burst] [MINUTES=1] [MAX_RUNS=8]

Each deployment has one schedule due every minute. `spread` (the default) anchors
them evenly across the minute (`Interval(60, anchor_date=...)`, 1,000 runs a
minute arriving ~60 ms apart); `burst` gives them all `cron="* * * * *"`, so all
1,000 are due at the same second. One process runs the scheduler and a worker
(`max_runs=MAX_RUNS`) on a fresh SQLite file, on the real clock. Once the runs ahead
of every deployment are made (`first_plan_s`) and 5 s more have passed, each run
due in the next MINUTES minutes is measured from its slot time to its transition
to Running (claimed by the worker), in ms.
The targets (issue 17) are median ≤ 50 ms and p99 ≤ 250 ms. `pending_lag_ms` is
the scheduler's part alone: slot time → Pending.

One JSON line: `{"bench": "schedule-lag", "arrival", "deployments", "runs",
"lag_ms": {"n", "median", "p95", "p99", "max", ...}, "late_runs", ...}`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import threading
import time

from common import emit, pct, summary
from tarry_env import close_host, open_host, versions

from tarry import deployments, flow, scheduler
from tarry.schedules import Cron, Interval, Schedule
from tarry.worker import Worker

WARM_UP_SECONDS = 5.0


@flow
def tick(n: int = 0) -> int:
    """The scheduled flow: does nothing, so the lag is the scheduler's and the claim's."""
    return n


def _schedule(index: int, count: int, mode: str, base: dt.datetime) -> Schedule:
    if mode == "burst":
        return Cron("* * * * *")
    return Interval(60, anchor_date=base + dt.timedelta(seconds=60 * index / count))


def _lags(db: str, since: float, until: float, state: str) -> list[float]:
    """Seconds from each slot in `(since, until]` to its run's first transition to `state`."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT s.slot_at, min(t.at) FROM scheduled_runs s"
            " JOIN run_transitions t ON t.run_id = s.run_id AND t.to_state = ?"
            " WHERE s.slot_at > ? AND s.slot_at <= ? GROUP BY s.run_id",
            (state, since, until),
        ).fetchall()
    finally:
        conn.close()
    return [ran - slot for slot, ran in rows]


def _planned(db: str) -> int:
    """How many deployments have their runs ahead made."""
    conn = sqlite3.connect(db)
    try:
        [(count,)] = conn.execute("SELECT count(DISTINCT deployment) FROM scheduled_runs")
    finally:
        conn.close()
    return int(count)


def main() -> None:
    """Deploy, warm up a minute, measure the next minutes' runs, print one JSON line."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    mode = sys.argv[2] if len(sys.argv) > 2 else "spread"
    minutes = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    max_runs = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    hst = open_host("tarry-schedule-lag-", worker_poll_seconds=1.0)
    try:
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        started = time.perf_counter()
        for i in range(count):
            deployments.deploy(tick, f"d{i:04d}", schedules=[_schedule(i, count, mode, base)])
        deploy_s = time.perf_counter() - started
        runner = Worker(hst, max_runs=max_runs)
        thread = threading.Thread(target=runner.run, name="bench-worker", daemon=True)
        thread.start()
        db = str(hst.settings.home / "tarry.db")
        scheduler.ensure_scheduler(hst)
        planned_from = time.perf_counter()
        while _planned(db) < count:
            time.sleep(0.1)
        plan_s = time.perf_counter() - planned_from
        since = time.time() + WARM_UP_SECONDS
        until = since + 60 * minutes
        time.sleep(until - time.time() + 2.0)  # the last runs get 2 s to start
        runner.stop()
        thread.join(30)
        lags = _lags(db, since, until, "Running")
        released = _lags(db, since, until, "Pending")
    finally:
        close_host(hst)
    emit(
        {
            "bench": "schedule-lag",
            "engine": "tarry",
            **versions(),
            "arrival": mode,
            "deployments": count,
            "minutes": minutes,
            "max_runs": max_runs,
            "runs": len(lags),
            "expected_runs": count * minutes,
            "deploy_s": round(deploy_s, 3),
            "first_plan_s": round(plan_s, 3),
            "lag_ms": {**summary(lags, 1e3), "p99": round(pct(lags, 99) * 1e3, 3)},
            "pending_lag_ms": {
                **summary(released, 1e3),
                "p99": round(pct(released, 99) * 1e3, 3),
            },
            "late_runs": sum(lag > 0.25 for lag in lags),
            "targets_ms": {"median": 50, "p99": 250},
        }
    )


if __name__ == "__main__":
    main()
