"""Flows that measure, themselves, how many runs of each queue execute at once.

Each run counts itself in a small SQLite file of its own (not tarry's) under an
exclusive transaction, so runs in several worker processes count as one.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

from tarry import flow, suspend_flow_run


def _change(probe_db: str, queue: str, step: int) -> None:
    with closing(sqlite3.connect(probe_db, timeout=30, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS running (queue TEXT PRIMARY KEY, now INT, most INT)"
        )
        conn.execute("INSERT OR IGNORE INTO running VALUES (?, 0, 0)", (queue,))
        conn.execute(
            "UPDATE running SET now = now + ?, most = max(most, now + ?) WHERE queue = ?",
            (step, step, queue),
        )
        conn.execute("COMMIT")


def most_at_once(probe_db: str) -> dict[str, int]:
    """The most runs of each queue that executed at once."""
    with closing(sqlite3.connect(probe_db)) as conn:
        return dict(conn.execute("SELECT queue, most FROM running").fetchall())


@flow
def probe(queue: str, probe_db: str, hold: float = 0.2) -> str:
    """Count itself in `queue` for `hold` seconds."""
    _change(probe_db, queue, 1)
    try:
        time.sleep(hold)
    finally:
        _change(probe_db, queue, -1)
    return queue


@flow
def suspends(queue: str, probe_db: str) -> str:
    """Count itself, leave memory until answered (counted out meanwhile), then end."""
    _change(probe_db, queue, 1)
    _change(probe_db, queue, -1)
    answer: str = suspend_flow_run(wait_for_input=str, timeout=600, key="go")
    return f"{queue}: {answer}"
