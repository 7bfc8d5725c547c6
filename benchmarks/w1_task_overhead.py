"""W1 (tarry): one flow running N trivial sequential @task steps.

Usage: python w1_task_overhead.py [N=500]

Each step is journaled (one SQLite commit per step, `synchronous=FULL` unless
`TARRY_SQLITE_SYNCHRONOUS` says otherwise). Reports the total time, µs per step
and µs per step net of an empty flow's time.
"""

from __future__ import annotations

import sys
import time

import tarry_env
from common import emit, summary

import tarry

EMPTY_FLOWS = 5


@tarry.task
def step(i: int) -> int:
    return i + 1


@tarry.flow
def w1(n: int) -> int:
    s = 0
    for i in range(n):
        s = step(i)
    return s


@tarry.flow
def empty(n: int) -> int:
    return n


def timed_empty_flows(count: int) -> list[float]:
    """Seconds taken by each of `count` empty flow runs."""
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        empty(0)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    t0 = time.perf_counter()
    hst = tarry_env.open_host("tarry-w1-")
    launch = time.perf_counter() - t0
    w1(3)
    empty_med = summary(timed_empty_flows(EMPTY_FLOWS), ndigits=5)["median"]
    t0 = time.perf_counter()
    out = w1(n)
    total = time.perf_counter() - t0
    assert out == n, out
    tarry_env.close_host(hst)
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "W1",
            "steps": n,
            "total_s": round(total, 3),
            "us_per_step": round(total / n * 1e6, 1),
            "empty_flow_s": empty_med,
            "us_per_step_net": round((total - empty_med) / n * 1e6, 1),
            "launch_s": round(launch, 3),
        }
    )


if __name__ == "__main__":
    main()
