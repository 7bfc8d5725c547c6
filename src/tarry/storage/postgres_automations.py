"""`AutomationStore` on PostgreSQL: a mixin of `PostgresStore`.

`commit_evaluation` is one transaction in one round trip: the cursor move and
every insert and delete (each kind of row one `executemany`) go to the server in
one pipeline with `BEGIN` and `COMMIT`. The cursor move fails when another
evaluator committed first (its row lock makes the second wait, then find the
cursor moved), which aborts the transaction: nothing of it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow

from tarry import errors
from tarry.storage import automation_sql, automations, sqlfiles

__all__ = ["PostgresAutomations"]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]
_QUERIES = sqlfiles.load_queries("postgres")
_NAME_CONSTRAINT = "automations_name_key"
# Only a query that returns rows may be fetched: its text says whether it does.
_RETURNS_ROWS = frozenset(
    name
    for name, text in _QUERIES.items()
    if text.lstrip().startswith("SELECT") or "RETURNING" in text
)


class PostgresAutomations(automation_sql.AutomationWrites):
    """The `AutomationStore` methods of `PostgresStore`."""

    def _transaction(self, op: Callable[[Conn], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def _automation_write(
        self, op: Callable[[automation_sql.Execute], T], *, durable: bool = True
    ) -> T:
        try:
            return self._transaction(lambda conn: op(_executor(conn)), durable=durable)
        except errors.StoreError as exc:
            # Two creations of one name at once: the check passed for both, the
            # unique index refused the second.
            if _violates(exc, psycopg.errors.UniqueViolation, _NAME_CONSTRAINT):
                raise errors.AutomationNameTaken(_name_of(exc)) from exc
            raise

    def _returning(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        raise NotImplementedError

    def _automation_statement(
        self, query: str, params: dict[str, Any], *, durable: bool = True
    ) -> Sequence[Any]:
        if not durable:  # `synchronous_commit` is set per transaction
            return self._automation_write(lambda execute: execute(query, params), durable=False)
        # One statement in autocommit: one round trip, where a transaction takes two.
        return self._returning(query, params)

    def commit_evaluation(self, commit: automations.EvaluationCommit) -> bool:
        """See `Store.commit_evaluation`."""
        try:
            return self._transaction(lambda conn: _commit(conn, commit))
        except errors.StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.DivisionByZero):
                return False  # the cursor had moved: `move_automation_cursor` says how
            raise


def _commit(conn: Conn, commit: automations.EvaluationCommit) -> bool:
    conn.execute(_QUERIES["move_automation_cursor"], automation_sql.cursor_params(commit))
    with conn.cursor() as cursor:
        for name, rows in automation_sql.commit_statements(commit):
            if rows:
                cursor.executemany(_QUERIES[name], rows)
    return True


def _executor(conn: Conn) -> automation_sql.Execute:
    def execute(name: str, params: dict[str, Any]) -> list[DictRow]:
        cursor = conn.execute(_QUERIES[name], params)
        return cursor.fetchall() if name in _RETURNS_ROWS else []

    return execute


def _violates(exc: errors.StoreError, kind: type[psycopg.Error], constraint: str) -> bool:
    cause = exc.__cause__
    return isinstance(cause, kind) and cause.diag.constraint_name == constraint


def _name_of(exc: errors.StoreError) -> str:
    # "Key (name)=(nightly) already exists."
    detail = getattr(exc.__cause__, "diag", None)
    text = (detail.message_detail if detail else None) or ""
    return text.partition("=(")[2].rpartition(")")[0] or "?"
