"""Leader/follower group commit over one SQLite connection.

The first writer to arrive becomes the leader and commits everything queued
meanwhile in one transaction; the others sleep until their operation is in a
committed batch. A lone writer therefore pays no thread hop at all, and N runs
finishing steps at once pay for one fsync, not N.

`submit` queues an operation without waiting (event loops use it): the writers'
own thread, `tarry-commit`, leads when no writer does, so a batch holds every
operation queued meanwhile, not one per waiting thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Protocol

from tarry import errors

__all__ = ["Captured", "Done", "GroupCommitter", "Op"]

Op = Callable[[sqlite3.Connection], Any]
Captured = list[tuple[Op, bool]]
"""Writes a store collected instead of making them: `(op, durable)`, for `submit`."""


class Done(Protocol):
    """Told a submitted operation's result, or its error, once its batch committed."""

    def __call__(self, result: Any, error: BaseException | None) -> None:
        """Called on the committing thread; must not block."""


class _Request:
    __slots__ = ("done", "durable", "error", "on_done", "op", "result")

    def __init__(self, op: Op, durable: bool, on_done: Done | None = None) -> None:
        self.op = op
        self.durable = durable
        self.on_done = on_done
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
        self._submitted = 0
        self._thread: threading.Thread | None = None
        self._stopped = False

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

    def submit(self, op: Op, durable: bool, on_done: Done) -> None:
        """Queue `op` for the next batch and return at once; `on_done` hears its outcome."""
        with self._cond:
            self._queue.append(_Request(op, durable, on_done))
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="tarry-commit", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _serve(self) -> None:
        # Leads batches while submitted operations wait and no writer leads; sleeps
        # otherwise (a writer's `run` leads its own batch, submitted ones included).
        with self._cond:
            while True:
                while (not self._submitted or self._leading) and not self._stopped:
                    self._cond.wait()
                if self._submitted and not self._leading:
                    self._lead()
                elif self._stopped:
                    self._refuse_submitted()
                    return

    def _refuse_submitted(self) -> None:
        # Stopped while a writer leads: what it did not take is refused, not left waiting.
        refused = [r for r in self._queue if r.on_done is not None]
        self._queue = [r for r in self._queue if r.on_done is None]
        self._submitted = 0
        for request in refused:
            request.error = errors.StoreError("the store is closed")
        _tell(refused)

    def stop(self) -> None:
        """End the `tarry-commit` thread once nothing submitted waits (before closing)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

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
        self._submitted = 0
        self._cond.release()
        try:
            self._commit(batch, logs)
        finally:
            _tell(batch)
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


def _tell(batch: list[_Request]) -> None:
    for request in batch:
        if request.on_done is not None:
            request.on_done(request.result, request.error)


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
