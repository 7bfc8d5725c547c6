"""`LimitStore` on SQLite: a mixin of `SqliteStore`.

A take is one write operation of the single writer, so it sees every slot held
and no lock is needed; reads go to the reader connections.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from tarry.storage import limit_sql, sqlfiles

__all__ = ["SqliteLimits"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqliteLimits(limit_sql.LimitWrites):
    """The `LimitStore` methods of `SqliteStore`."""

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def _limit_write(self, op: Callable[[limit_sql.Execute], T], *, durable: bool = True) -> T:
        return self._write(lambda conn: op(_executor(conn)), durable)

    def _array(self, names: list[str]) -> Any:
        return json.dumps(names)


def _executor(conn: sqlite3.Connection) -> limit_sql.Execute:
    return lambda name, params: conn.execute(_QUERIES[name], params).fetchall()
