"""Profile W5 with cProfile in every thread (stdlib).

Usage: python profile_w5.py [N=10000] [SORT=tottime] [LINES=40] [FILTER=tarry]

W5 spends its time in the event loop thread, the loop's executor threads (store
writes and reads are offloaded there), the submitter threads and tarry's watcher.
`cProfile` sees one thread only, so `threading.setprofile` starts one profiler in
each new thread; their statistics are merged at the end. Times are summed over
threads, so `cumtime` of blocking calls (lock `acquire`, `execute` waiting for the
GIL or the disk) exceeds the wall time. FILTER keeps rows whose file path contains
it (`""` keeps all). The benchmark's JSON line is printed first. `TARRY_*` and
`W5_*` variables apply as in `w5_many_waiting.py`.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
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


def main() -> None:
    n = sys.argv[1] if len(sys.argv) > 1 else "10000"
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
