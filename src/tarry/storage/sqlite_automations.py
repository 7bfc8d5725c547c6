"""`AutomationStore` on SQLite: a mixin of `SqliteStore`.

Every write is one operation of the single writer, group-committed with the
others: `commit_evaluation` moves the cursor first and, if it did not move (another
evaluator committed), writes nothing else. Reads go to the reader connections.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from tarry.storage import automation_sql, automations, sqlfiles

__all__ = ["SqliteAutomations"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqliteAutomations(automation_sql.AutomationWrites):
    """The `AutomationStore` methods of `SqliteStore`."""

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def _automation_write(
        self, op: Callable[[automation_sql.Execute], T], *, durable: bool = True
    ) -> T:
        return self._write(lambda conn: op(_executor(conn)), durable)

    def commit_evaluation(self, commit: automations.EvaluationCommit) -> bool:
        """See `Store.commit_evaluation`."""
        return self._write(lambda conn: _commit(conn, commit))


def _commit(conn: sqlite3.Connection, commit: automations.EvaluationCommit) -> bool:
    moved = conn.execute(_QUERIES["move_automation_cursor"], automation_sql.cursor_params(commit))
    if not moved.fetchall():
        return False
    for name, rows in automation_sql.commit_statements(commit):
        if rows:
            conn.executemany(_QUERIES[name], rows)
    return True


def _executor(conn: sqlite3.Connection) -> automation_sql.Execute:
    return lambda name, params: conn.execute(_QUERIES[name], params).fetchall()
