"""A flow whose tasks, tagged `db`, record when each of them ran.

Each task execution writes its start and end to a small SQLite file of its own (not
tarry's), so executions in several worker processes land in one place, and a task
killed in the middle leaves a start without an end.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing

from tarry import flow, task


def _connect(probe_db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(probe_db, timeout=30, isolation_level=None)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS ran (id INTEGER PRIMARY KEY, pid INT, started REAL, ended REAL)"
    )
    return conn


@task(tags=["db"])
def touch(i: int, probe_db: str, hold: float) -> int:
    """Record this execution's start and end, `hold` seconds apart."""
    with closing(_connect(probe_db)) as conn:
        row = conn.execute(
            "INSERT INTO ran (pid, started) VALUES (?, ?) RETURNING id", (os.getpid(), time.time())
        ).fetchone()
    time.sleep(hold)
    with closing(_connect(probe_db)) as conn:
        conn.execute("UPDATE ran SET ended = ? WHERE id = ?", (time.time(), row[0]))
    return i


@flow
def fan_out(probe_db: str, n: int = 20, hold: float = 0.02) -> int:
    """Run `n` tagged tasks at once, as far as the `tag:db` limit lets them."""
    futures = touch.map(range(n), probe_db=probe_db, hold=hold)
    return sum(f.result() for f in futures)


def executions(probe_db: str) -> list[tuple[int, float, float | None]]:
    """Every execution recorded: its process, start and end (`None`: it never ended)."""
    with closing(_connect(probe_db)) as conn:
        return conn.execute("SELECT pid, started, ended FROM ran ORDER BY started").fetchall()


def most_at_once(runs: list[tuple[int, float, float | None]], killed: dict[int, float]) -> int:
    """The most executions that overlapped; one that never ended lasted until its kill."""
    edges: list[tuple[float, int]] = []
    for pid, started, ended in runs:
        edges += [(started, 1), (ended if ended is not None else killed[pid], -1)]
    most = now = 0
    for _, step in sorted(edges):
        now += step
        most = max(most, now)
    return most
