"""Global concurrency limits: uncontended acquire + release, and a rate limit's pace.

Usage: python concurrency_slots.py [N=2000] [RATE_SECONDS=10]

Part 1 times N `with concurrency("db"):` blocks with nobody else holding the limit:
each is one take (a write transaction) and one release (another). Part 2 calls
`rate_limit("api")` as fast as it lets through for RATE_SECONDS on a limit of 1 slot
decaying at 10 per second, and counts the calls let through in each whole second.

Set `TARRY_DATABASE_URL=postgresql://...` to measure PostgreSQL (a fresh schema);
SQLite by default. Targets (issue 18): acquire + release <= 1 ms on SQLite, <= 2 ms
on PostgreSQL; 10 +/- 1 calls per second.
"""

from __future__ import annotations

import collections
import sys
import time

import tarry_env
from common import emit, summary

from tarry import concurrency
from tarry.concurrency.sync import concurrency as limited
from tarry.concurrency.sync import rate_limit

DECAY = 10.0


def uncontended(n: int) -> list[float]:
    """Seconds each of `n` acquire + release pairs took."""
    concurrency.create_limit("db", 5)
    for _ in range(50):  # warm connections and statement caches
        with limited("db"):
            pass
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with limited("db"):
            pass
        times.append(time.perf_counter() - t0)
    return times


def paced(seconds: float) -> dict[str, object]:
    """Calls `rate_limit` lets through per whole second, after its first call."""
    concurrency.create_limit("api", 1, slot_decay_per_second=DECAY)
    rate_limit("api")
    start = time.monotonic()
    per_second: collections.Counter[int] = collections.Counter()
    while (elapsed := time.monotonic() - start) < seconds:
        rate_limit("api")
        per_second[int(time.monotonic() - start)] += 1
    counts = [per_second[s] for s in range(int(seconds))]
    return {
        "per_second": counts,
        "total": sum(counts),
        "min_per_second": min(counts),
        "max_per_second": max(counts),
        "elapsed_s": round(elapsed, 3),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    hst = tarry_env.open_host("tarry-limits-")
    acquire = summary(uncontended(n), scale=1e3)
    pace = paced(seconds)
    tarry_env.close_host(hst)
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "concurrency_slots",
            "acquire_release_ms": acquire,
            "rate_limit_decay_per_s": DECAY,
            "rate_limit": pace,
        }
    )


if __name__ == "__main__":
    main()
