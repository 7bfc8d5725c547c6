"""Profile the measured part of W1 or W2 with cProfile (stdlib).

Usage: python profile_workload.py w1|w2 [COUNT] [SORT=tottime] [LINES=30]

Runs the workload's warm-up unprofiled, then profiles only the measured calls
(W1: one flow of COUNT steps; W2: COUNT tiny flows) and prints the top
functions on stdout, with times per step / per flow. `TARRY_SQLITE_SYNCHRONOUS`
applies as in the benchmarks.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import tarry_env
import w1_task_overhead
import w2_workflow_start


def measured(workload: str, count: int) -> None:
    """The calls the benchmark times."""
    if workload == "w1":
        w1_task_overhead.w1(count)
    else:
        w2_workflow_start.timed_calls(count)


def main() -> None:
    workload = sys.argv[1] if len(sys.argv) > 1 else "w1"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else (500 if workload == "w1" else 200)
    sort = sys.argv[3] if len(sys.argv) > 3 else "tottime"
    lines = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    hst = tarry_env.open_host(f"tarry-prof-{workload}-")
    measured(workload, 3)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.runcall(measured, workload, count)
    total = time.perf_counter() - t0
    tarry_env.close_host(hst)
    unit = "step" if workload == "w1" else "flow"
    print(f"{workload} x{count}: {total:.3f}s profiled, {total / count * 1e6:.0f} us per {unit}")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(sort).print_stats(lines)


if __name__ == "__main__":
    main()
