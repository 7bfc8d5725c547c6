"""Ten Ray tasks for the crash test, run as a script so its entrypoint is a file path.

Each task appends `started N` to $CRASH_LOG when it begins and `finished N` when it
has done its work. Tasks 0 to 4 run first; tasks 5 to 9 then wait while the file
$CRASH_HOLD exists, so the test can kill the flow's process once 0 to 4 are journaled.
"""

from __future__ import annotations

import os
import time

from tarry import flow, task
from tarry.futures import wait
from tarry.task_runners import RayTaskRunner


def mark(line: str) -> None:
    with open(os.environ["CRASH_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


@task
def work(n: int) -> int:
    mark(f"started {n}")
    deadline = time.monotonic() + 120
    while n >= 5 and os.path.exists(os.environ["CRASH_HOLD"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    mark(f"finished {n}")
    return n * n


@flow(task_runner=RayTaskRunner(init_kwargs={"num_cpus": 2}))
def ten_squares() -> int:
    first = work.map(range(5))
    wait(first)
    rest = work.map(range(5, 10))
    return sum(f.result() for f in [*first, *rest])


if __name__ == "__main__":
    print(ten_squares())
