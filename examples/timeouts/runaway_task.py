"""A task with a time budget: a runaway search is stopped where it is, and the flow falls back.

Run it with `python examples/timeouts/runaway_task.py`. The search never ends on its own;
its `timeout_seconds=1` stops it in its loop after a second (the code after the loop never
runs), the flow catches the `TaskTimeout` and uses a default, and `tarry runs show RUN_ID`
shows the failed step with where it stopped.
"""

from __future__ import annotations

import itertools

import tarry
from tarry import flow, get_run_logger, task


@task(timeout_seconds=1)
def best_price(product: str) -> float:
    best = float("inf")
    for attempt in itertools.count():  # a search that never converges
        best = min(best, 100.0 + (attempt % 7))
    print("search finished")  # never printed: the timeout stops the loop
    return best


@flow(log_prints=True)
def quote(product: str = "widget") -> float:
    try:
        return best_price(product)
    except tarry.TaskTimeout as exc:
        get_run_logger().warning("%s; quoting the list price", exc)
        return 120.0


if __name__ == "__main__":
    print(f"quote: {quote()}")
