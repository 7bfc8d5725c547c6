"""Small helpers shared by tarry's benchmark scripts (stdlib only).

Every benchmark prints exactly one JSON line on stdout as its final output;
tarry's run logs go to stderr.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import sys
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["emit", "make_workdir", "pct", "process_stats", "summary"]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_workdir(prefix: str) -> str:
    """Create a fresh temporary folder for a benchmark's database and files.

    Args:
        prefix: Start of the folder's name, e.g. `"tarry-w1-"`.

    Returns:
        The folder's path. Its parent is `BENCH_WORKDIR` when set, otherwise
        the system's temporary folder.
    """
    parent = os.environ.get("BENCH_WORKDIR") or None
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def pct(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile of `values` (`q` from 0 to 100); NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = round(q / 100.0 * len(ordered) + 0.5) - 1
    return ordered[max(0, min(len(ordered) - 1, rank))]


def summary(values: Iterable[float], scale: float = 1.0, ndigits: int = 3) -> dict[str, float]:
    """Count, median, p95, min and max of `values`, each multiplied by `scale`.

    Args:
        values: The samples (at least one).
        scale: Factor applied first, e.g. `1e3` to turn seconds into milliseconds.
        ndigits: Digits kept after rounding.
    """
    scaled = [v * scale for v in values]
    return {
        "n": len(scaled),
        "median": round(statistics.median(scaled), ndigits),
        "p95": round(pct(scaled, 95), ndigits),
        "min": round(min(scaled), ndigits),
        "max": round(max(scaled), ndigits),
    }


def process_stats(pid: int | None = None) -> dict[str, float]:
    """Resident memory (MiB) and thread count of one process, read from `/proc`.

    Args:
        pid: The process; this one when omitted.

    Returns:
        `{"rss_mib": ..., "threads": ...}`; NaN for both where `/proc` is missing.
    """
    path = f"/proc/{pid or os.getpid()}/status"
    found = {"rss_mib": math.nan, "threads": math.nan}
    try:
        with open(path, encoding="ascii") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name == "VmRSS":
                    found["rss_mib"] = round(int(value.split()[0]) / 1024, 1)
                elif name == "Threads":
                    found["threads"] = int(value)
    except OSError:
        pass
    return found


def emit(result: Mapping[str, Any]) -> None:
    """Write the benchmark's one JSON result line to stdout."""
    sys.stdout.flush()
    sys.stdout.write(json.dumps(dict(result)) + "\n")
    sys.stdout.flush()
