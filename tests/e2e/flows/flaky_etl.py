"""An ETL whose load fails until a file exists: each extract appends a line to a log."""

from __future__ import annotations

from pathlib import Path

from tarry import flow, task


@task
def extract(log: str) -> int:
    with Path(log).open("a", encoding="utf-8") as out:
        out.write("extracted\n")
    return 41


@task
def load(rows: int, ready: str) -> int:
    if not Path(ready).exists():
        raise RuntimeError("the warehouse is down")
    return rows + 1


@flow
def flaky_etl(log: str, ready: str) -> int:
    return load(extract(log), ready)
