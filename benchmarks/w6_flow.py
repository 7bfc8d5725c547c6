"""The W6 flow: five steps that log each execution to a file.

Imported as the module `w6_flow` (by `w6_crash_recovery.py` and, through the
run's entrypoint `w6_flow:w6`, by the worker that recovers it).

`W6_LOG` names the log file: every step appends `stepK@<time.monotonic()>`
(fsynced) when it runs, and the flow appends `after-step3` once step 3 has
returned (so step 3 is in the journal). With `W6_BLOCK=1`, step 4 first writes
`step4-started-blocking` and sleeps, so the process can be killed there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import tarry

__all__ = ["STEPS", "mark", "w6"]

BLOCK_SECONDS = 600


def mark(line: str) -> None:
    """Append `line` to the `W6_LOG` file and fsync it."""
    with open(os.environ["W6_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


def _make_step(k: int) -> tarry.Task[[int], int]:
    def body(x: int) -> int:
        if k == 4 and os.environ.get("W6_BLOCK") == "1":
            mark("step4-started-blocking")
            time.sleep(BLOCK_SECONDS)
        mark(f"step{k}@{time.monotonic():.4f}")
        return x + 1

    return tarry.task(name=f"step{k}")(body)


STEPS: list[Callable[[int], int]] = [_make_step(k) for k in range(1, 6)]


@tarry.flow(name="w6")
def w6(x: int) -> int:
    for k, step in enumerate(STEPS, start=1):
        x = step(x)
        if k == 3:
            mark("after-step3")
    return x
