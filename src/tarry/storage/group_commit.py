"""Leader/follower group commit over one SQLite connection.

The first writer to arrive becomes the leader and commits everything queued
meanwhile in one transaction; the others sleep until their operation is in a
committed batch. A lone writer therefore pays no thread hop at all, and N runs
finishing steps at once pay for one fsync, not N.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from tarry import errors

__all__ = ["GroupCommitter", "Op"]

Op = Callable[[sqlite3.Connection], Any]


class _Request:
    __slots__ = ("done", "durable", "error", "op", "result")

    def __init__(self, op: Op, durable: bool) -> None:
        self.op = op
        self.durable = durable
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommitter:
    """Leader/follower group commit over one connection.

    The first writer to arrive becomes the leader and commits everything queued
    meanwhile; the others sleep until their operation is in a committed batch.
    A lone writer therefore pays no thread hop at all.

    `after_commit` is called by the leader after each commit, on the connection's
    thread, before the batch's writers return (the store rings its event bell).

    A batch of only lazy writes (`durable=False`) commits at `synchronous=NORMAL`:
    it survives a process crash at once, and a power loss from the next durable
    commit on, whose fsync of the WAL covers every earlier frame.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        synchronous: str,
        insert_log_sql: str,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self._after_commit = after_commit
        self._insert_log_sql = insert_log_sql
        self._durable_level = synchronous
        self._lazy_level = "NORMAL" if synchronous in ("FULL", "EXTRA") else synchronous
        self._level = synchronous
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._logs: list[dict[str, Any]] = []
        self._leading = False

    def run(self, op: Op, durable: bool = True) -> Any:
        """Run `op` in a committed transaction (shared with other writers) and return its result.

        Raises:
            Exception: What `op` raised (a SQLite error as `errors.StoreError`).
        """
        request = _Request(op, durable)
        with self._cond:
            self._queue.append(request)
            while not request.done:
                if self._leading:
                    self._cond.wait()
                else:
                    self._lead()
        if request.error is not None:
            raise request.error
        return request.result

    def add_logs(self, rows: list[dict[str, Any]]) -> None:
        """Queue log lines for the next commit."""
        with self._cond:
            self._logs.extend(rows)

    def has_logs(self) -> bool:
        """Whether log lines wait for a commit."""
        return bool(self._logs)

    def _lead(self) -> None:
        self._leading = True
        batch, self._queue = self._queue, []
        logs, self._logs = self._logs, []
        self._cond.release()
        try:
            self._commit(batch, logs)
        finally:
            self._cond.acquire()
            self._leading = False
            self._cond.notify_all()

    def _set_level(self, batch: list[_Request]) -> None:
        level = self._durable_level if any(r.durable for r in batch) else self._lazy_level
        if level != self._level:
            self._conn.execute(f"PRAGMA synchronous={level}")
            self._level = level

    def _commit(self, batch: list[_Request], logs: list[dict[str, Any]]) -> None:
        conn = self._conn
        try:
            self._set_level(batch)
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                # A lone operation needs no savepoint: if it fails, the whole
                # transaction is rolled back and its log lines go back in the queue.
                if not _run_alone(conn, batch[0]):
                    conn.execute("ROLLBACK")
                    self.add_logs(logs)
                    return
            else:
                for request in batch:
                    _run_in_savepoint(conn, request)
            _insert_logs(conn, self._insert_log_sql, logs)
            conn.execute("COMMIT")
            if self._after_commit is not None:
                self._after_commit()
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = errors.StoreError(f"SQLite commit failed: {exc}")
            for request in batch:
                request.error = request.error or failure
        finally:
            for request in batch:
                request.done = True


def _run_alone(conn: sqlite3.Connection, request: _Request) -> bool:
    try:
        request.result = request.op(conn)
    except Exception as exc:  # noqa: BLE001 - handed to the caller that queued it
        request.error = _as_store_error(exc)
        return False
    return True


def _as_store_error(exc: Exception) -> Exception:
    if isinstance(exc, sqlite3.Error):
        error = errors.StoreError(f"SQLite refused the write: {exc}")
        error.__cause__ = exc
        return error
    return exc


def _insert_logs(conn: sqlite3.Connection, sql: str, logs: list[dict[str, Any]]) -> None:
    # Log lines share the transaction of other runs' writes: a line the database
    # refuses (its run is gone) is dropped alone instead of failing them all.
    if not logs:
        return
    conn.execute("SAVEPOINT logs")
    try:
        conn.executemany(sql, logs)
    except sqlite3.Error:
        conn.execute("ROLLBACK TO logs")
        for line in logs:
            _insert_log_or_drop(conn, sql, line)
    conn.execute("RELEASE logs")


def _insert_log_or_drop(conn: sqlite3.Connection, sql: str, line: dict[str, Any]) -> None:
    conn.execute("SAVEPOINT line")
    try:
        conn.execute(sql, line)
    except sqlite3.Error:
        conn.execute("ROLLBACK TO line")
    conn.execute("RELEASE line")


def _run_in_savepoint(conn: sqlite3.Connection, request: _Request) -> None:
    # Each operation gets its own savepoint: one failing operation must not undo
    # the others that share its group commit.
    conn.execute("SAVEPOINT op")
    try:
        request.result = request.op(conn)
    except Exception as exc:  # noqa: BLE001 - handed to the caller that queued it
        conn.execute("ROLLBACK TO op")
        request.error = _as_store_error(exc)
    conn.execute("RELEASE op")
