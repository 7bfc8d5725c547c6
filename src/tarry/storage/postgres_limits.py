"""`LimitStore` on PostgreSQL: a mixin of `PostgresStore`.

A take locks the rows of the limits it names (in name order, so two takes never
deadlock), counts their live slots and writes, in one transaction: any number of
processes on any number of hosts take slots and no limit is ever exceeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow

from tarry.storage import limit_sql, sqlfiles

__all__ = ["PostgresLimits"]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]
_QUERIES = sqlfiles.load_queries("postgres")
# In a pipeline a cursor knows whether it has rows only once they are fetched: the
# query's text says whether it returns any.
_RETURNS_ROWS = frozenset(
    name
    for name, text in _QUERIES.items()
    if text.lstrip().startswith("SELECT") or "RETURNING" in text
)


class PostgresLimits(limit_sql.LimitWrites):
    """The `LimitStore` methods of `PostgresStore`."""

    def _transaction(self, op: Callable[[Conn], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def _limit_write(self, op: Callable[[limit_sql.Execute], T], *, durable: bool = True) -> T:
        return self._transaction(lambda conn: op(_executor(conn)), durable=durable)

    def _array(self, names: list[str]) -> Any:
        return names


def _executor(conn: Conn) -> limit_sql.Execute:
    def execute(name: str, params: dict[str, Any]) -> list[DictRow]:
        cursor = conn.execute(_QUERIES[name], params)
        return cursor.fetchall() if name in _RETURNS_ROWS else []

    return execute
