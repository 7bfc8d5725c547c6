"""A five-step flow for the crash tests, run as a script so its entrypoint is a file path.

Each step appends `stepK` to $CRASH_LOG once it has done its work. With
CRASH_BLOCK=1, step 4 blocks forever, so the test can kill the process there.
"""

from __future__ import annotations

import os
import time

from tarry import flow, task


def mark(line: str) -> None:
    with open(os.environ["CRASH_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


@task
def step(k: int, x: int) -> int:
    if k == 4 and os.environ.get("CRASH_BLOCK") == "1":
        mark("step4-blocking")
        time.sleep(600)
    mark(f"step{k}")
    return x + k


@flow
def five_steps(x: int) -> int:
    for k in range(1, 6):
        x = step(k, x)
        if k == 3:
            mark("after-step3")
    return x


if __name__ == "__main__":
    print(five_steps(100))
