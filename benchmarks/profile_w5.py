"""Profile W5 with cProfile in every thread (stdlib).

Usage: python profile_w5.py [N=10000] [SORT=tottime] [LINES=40] [FILTER=tarry]
       python profile_w5.py N memory [LINES=25] [FILTER=""]

W5 spends its time in the event loop thread, the loop's executor threads (store
writes and reads are offloaded there), the submitter threads and tarry's watcher.
`cProfile` sees one thread only, so `threading.setprofile` starts one profiler in
each new thread; their statistics are merged at the end. Times are summed over
threads, so `cumtime` of blocking calls (lock `acquire`, `execute` waiting for the
GIL or the disk) exceeds the wall time. FILTER keeps rows whose file path contains
it (`""` keeps all). The benchmark's JSON line is printed first. `TARRY_*` and
`W5_*` variables apply as in `w5_many_waiting.py`.

`memory` instead traces allocations (`tracemalloc`, 1 frame) from the start and,
once all N runs wait, prints the live memory by file and by line, divided by N
(bytes per waiting run), and the most numerous live object types (`gc`), each
count divided by N: what the process, caller included, holds per waiting run.
"""

from __future__ import annotations

import collections
import cProfile
import gc
import pstats
import sys
import threading
import tracemalloc
import types
from typing import Any

import w5_many_waiting

profilers: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_in_thread(frame: types.FrameType, event: str, arg: Any) -> None:
    """Called once per new thread: replace this hook by a profiler of the thread."""
    del frame, event, arg
    sys.setprofile(None)
    profiler = cProfile.Profile()
    with _lock:
        profilers.append(profiler)
    profiler.enable()


def _print_memory(snapshot: tracemalloc.Snapshot, n: int, lines: int, keep: str) -> None:
    for group in ("filename", "lineno"):
        stats = [s for s in snapshot.statistics(group) if keep in str(s.traceback)]
        total = sum(s.size for s in stats)
        print(f"\n-- live memory by {group}: {total / 2**20:.1f} MiB, {total / n:.0f} B per run")
        for stat in stats[:lines]:
            frame = stat.traceback[0]
            where = f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
            print(f"{stat.size / n:9.1f} B/run {stat.count / n:7.2f} blocks/run  {where}")


def _print_types(n: int, lines: int) -> None:
    counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    print("\n-- live objects tracked by gc, per run")
    for name, count in counts.most_common(lines):
        print(f"{count / n:9.2f} per run  {count:9d}  {name}")


def memory(n: int, lines: int, keep: str) -> None:
    """Trace allocations; print what is live per waiting run once all N wait."""
    original = w5_many_waiting.sample_while_waiting

    async def sample_and_trace(seconds: float) -> dict[str, float]:
        snapshot = tracemalloc.take_snapshot()
        found = await original(seconds)
        _print_memory(snapshot, n, lines, keep)
        _print_types(n, lines)
        return found

    w5_many_waiting.sample_while_waiting = sample_and_trace  # type: ignore[assignment]
    tracemalloc.start(1)
    sys.argv = ["w5_many_waiting.py", str(n)]
    w5_many_waiting.main()


def main() -> None:
    n = sys.argv[1] if len(sys.argv) > 1 else "10000"
    if len(sys.argv) > 2 and sys.argv[2] == "memory":
        lines = int(sys.argv[3]) if len(sys.argv) > 3 else 25
        memory(int(n), lines, sys.argv[4] if len(sys.argv) > 4 else "")
        return
    sort = sys.argv[2] if len(sys.argv) > 2 else "tottime"
    lines = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    keep = sys.argv[4] if len(sys.argv) > 4 else "tarry"
    threading.setprofile(_start_in_thread)
    own = cProfile.Profile()
    profilers.append(own)
    sys.argv = ["w5_many_waiting.py", n]
    own.enable()
    w5_many_waiting.main()
    own.disable()
    threading.setprofile(None)
    with _lock:
        found = list(profilers)
    for profiler in found:
        profiler.disable()
    stats = pstats.Stats(found[0], stream=sys.stdout)
    for profiler in found[1:]:
        stats.add(profiler)
    print(f"\n{len(found)} threads profiled; sorted by {sort}; rows matching {keep!r}")
    stats.sort_stats(sort).print_stats(keep, lines)


if __name__ == "__main__":
    main()
