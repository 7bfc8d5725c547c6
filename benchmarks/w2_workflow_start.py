"""W2 (tarry): M tiny flows (no steps) called one after another in one process.

Usage: python w2_workflow_start.py [M=200]

Each flow run is stored (insert as Running, then Completed with its result).
Reports flows per second and the latency of each call.
"""

from __future__ import annotations

import sys
import time

import tarry_env
from common import emit, summary

import tarry


@tarry.flow
def tiny(x: int) -> int:
    return x + 1


def timed_calls(count: int) -> list[float]:
    """Seconds taken by each of `count` sequential flow calls."""
    latencies = []
    for i in range(count):
        t0 = time.perf_counter()
        assert tiny(i) == i + 1
        latencies.append(time.perf_counter() - t0)
    return latencies


def main() -> None:
    m = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    hst = tarry_env.open_host("tarry-w2-")
    tiny(0)
    t0 = time.perf_counter()
    latencies = timed_calls(m)
    total = time.perf_counter() - t0
    tarry_env.close_host(hst)
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "W2",
            "workflows": m,
            "total_s": round(total, 3),
            "wf_per_s": round(m / total, 2),
            "per_wf_ms": summary(latencies, 1e3),
        }
    )


if __name__ == "__main__":
    main()
