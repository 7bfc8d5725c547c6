"""A flow whose task is cached across runs; each real call appends a line to `calls_file`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tarry import flow, task
from tarry.cache_policies import INPUTS, TASK_SOURCE


@task(cache_policy=INPUTS - "calls_file" + TASK_SOURCE, cache_expiration=dt.timedelta(days=1))
def price(item: str, qty: int, calls_file: str) -> dict[str, object]:
    with Path(calls_file).open("a") as calls:
        calls.write(f"{item} x{qty}\n")
    return {"item": item, "total": 3 * qty}


@flow
def quote(item: str, qty: int, calls_file: str) -> dict[str, object]:
    return price(item, qty, calls_file)
