"""The SQLite store: the embedded default.

One write connection per process, used by whichever thread leads the current
*group commit*: concurrent writers queue their operations and the leader runs
them all in one transaction, so N runs finishing steps at once pay for one
fsync, not N. Readers use one connection per thread; WAL lets them read while
the leader writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tarry import errors, interrupts
from tarry.states import RunState, WaitKind, WaitStatus
from tarry.storage import (
    claiming,
    group_commit,
    named_reads,
    outbox,
    port,
    records,
    rules,
    sqlfiles,
    sqlite_schema,
    wakeups,
)
from tarry.storage import rows as mapping
from tarry.storage.sqlite_automations import SqliteAutomations
from tarry.storage.sqlite_cache import SqliteCache
from tarry.storage.sqlite_events import SqliteEvents
from tarry.storage.sqlite_limits import SqliteLimits
from tarry.storage.sqlite_pools import SqlitePools, claim_in_pool, insert_transition, update_run
from tarry.storage.sqlite_schedules import SqliteSchedules
from tarry.storage.sqlite_webhooks import SqliteWebhooks

__all__ = ["SqliteStore"]

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

_QUERIES = sqlfiles.load_queries("sqlite")
_LOG_FLUSH_SECONDS = 0.2
_READER_CACHE_KIB = 1024
_IDS_PER_QUERY = 500


class SqliteStore(
    named_reads.NamedReads,
    SqliteSchedules,
    SqlitePools,
    SqliteLimits,
    SqliteCache,
    SqliteEvents,
    SqliteAutomations,
    SqliteWebhooks,
    wakeups.Unpushed,
):
    """`Store` on a SQLite file (WAL, `synchronous=FULL` by default).

    Args:
        path: The database file; its folder is created if needed.
        synchronous: `PRAGMA synchronous` for the write connection.
    """

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._connect()
        sqlite_schema.enable_wal(self._writer)
        self._writer.execute(f"PRAGMA synchronous={synchronous}")
        self._commits = group_commit.GroupCommitter(
            self._writer, synchronous, _QUERIES["add_log"], self._after_commit
        )
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            # Readers are many (one per thread); their page caches add up.
            conn.execute(f"PRAGMA cache_size=-{_READER_CACHE_KIB}")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _read(self, query: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        if self._closed.is_set():
            raise errors.StoreError("the store is closed")
        return self._reader().execute(_QUERIES[query], params).fetchall()

    def write_soon(
        self, on_done: group_commit.Done, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        """Queue the one write of this store's `method(*args, **kwargs)` and return at once.

        For event loops: it joins the next group commit, no thread waiting for it.
        `method` returns its write's result as it is (`insert_run`, `open_waits`,
        `transition`); `on_done(result, error)` hears it on the committing thread.
        """
        captured: group_commit.Captured = []
        self._local.capture = captured
        try:
            method(*args, **kwargs)
        finally:
            self._local.capture = None
        [(op, durable)] = captured
        self._commits.submit(op, durable, on_done)

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        if self._closed.is_set():
            raise errors.StoreError("the store is closed")
        capture: group_commit.Captured | None = getattr(self._local, "capture", None)
        if capture is not None:
            return capture.append((op, durable))  # type: ignore[func-returns-value,return-value]
        # Shielded: an interrupt must not stop a group commit's leader mid-transaction.
        with interrupts.shielded():
            return self._commits.run(op, durable)  # type: ignore[no-any-return]

    # -- lifecycle --------------------------------------------------------------

    def migrate(self) -> None:
        """See `Store.migrate`."""
        if self._closed.is_set():
            raise errors.StoreError("the store is closed")
        conn = self._connect()
        try:
            sqlite_schema.apply_migrations(conn)
        finally:
            conn.close()

    def schema_version(self) -> int:
        """The number of the last migration applied (0 for an empty database)."""
        rows = (
            self._reader()
            .execute("SELECT name FROM sqlite_master WHERE name = 'tarry_migrations'")
            .fetchall()
        )
        if not rows:
            return 0
        row = self._reader().execute("SELECT max(version) FROM tarry_migrations").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        """See `Store.close`."""
        if self._closed.is_set():
            return
        if self._commits.has_logs():
            self._commits.run(lambda conn: None)
        self._closed.set()
        self._commits.stop()
        if self._flusher is not None:
            self._flusher.join()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
        self._writer.close()

    # -- RunStore ---------------------------------------------------------------
    # get_run, get_transitions: `NamedReads`.

    def insert_run(self, run: records.RunRecord, reason: str = "", *, durable: bool = True) -> bool:
        """See `Store.insert_run`."""

        def op(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(_QUERIES["insert_run"], mapping.run_params(run))
            if cursor.rowcount == 0:
                return False
            transition = records.TransitionRecord(run.id, None, run.state, run.created_at, reason)
            insert_transition(conn, transition)
            return True

        return self._write(op, durable)

    def run_states(self, run_ids: Sequence[str]) -> dict[str, RunState]:
        """See `Store.run_states`."""
        states: dict[str, RunState] = {}
        for first in range(0, len(run_ids), _IDS_PER_QUERY):
            ids = json.dumps(list(run_ids[first : first + _IDS_PER_QUERY]))
            for row in self._read("run_states", {"ids": ids}):
                states[row["id"]] = RunState(row["state"])
        return states

    def run_ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """See `Store.run_ids_starting_with`."""
        # A range on the primary key: uses its index, unlike LIKE 'prefix%'.
        params = {"low": prefix, "high": prefix + "\U0010ffff", "limit": limit}
        return [row[0] for row in self._read("run_ids_in_range", params)]

    def list_runs(self, where: records.RunFilter) -> list[records.RunRecord]:
        """See `Store.list_runs`."""
        params = named_reads.list_runs_params(where, json.dumps)
        return [mapping.run_from_row(row) for row in self._read("list_runs", params)]

    def transition(
        self, run_id: str, expected: Collection[RunState], change: records.StateChange
    ) -> records.RunRecord | None:
        """See `Store.transition`."""

        def op(conn: sqlite3.Connection) -> records.RunRecord | None:
            row = conn.execute(_QUERIES["get_run"], {"id": run_id}).fetchone()
            run = mapping.run_from_row(row) if row is not None else None
            if run is None or not rules.change_allowed(run, expected, change):
                return None
            return update_run(conn, run, change)

        return self._write(op)

    # -- LeaseStore -------------------------------------------------------------

    def claim_runs(
        self,
        owner: str,
        lease_expires_at: float,
        now: float,
        dead_owners: Collection[str],
        *,
        limit: int,
        exclude: Collection[str] = (),
        recover: bool = True,
        pool: str = records.DEFAULT_POOL,
        queues: Collection[str] = (),
    ) -> list[records.RunRecord]:
        """See `Store.claim_runs`."""
        claim = claiming.Claim(
            owner, lease_expires_at, now, dead_owners, exclude, limit, recover, pool, queues
        )
        return self._write(lambda conn: claim_in_pool(conn, claim))

    def lease_owners(self) -> list[str]:
        """See `Store.lease_owners`."""
        return [row[0] for row in self._read("lease_owners", {})]

    def renew_leases(self, owner: str, lease_expires_at: float) -> int:
        """See `Store.renew_leases`."""
        params = {"owner": owner, "lease_expires_at": lease_expires_at}
        # Lazy: a renewal lost to a power cut only makes the lease expire sooner.
        renew = _QUERIES["renew_leases"]
        return self._write(lambda conn: conn.execute(renew, params).rowcount, durable=False)

    # -- JournalStore -----------------------------------------------------------
    # get_steps, get_step: `NamedReads`.

    def put_step(self, step: records.StepRecord, *, owner: str | None = None) -> bool:
        """See `Store.put_step`."""
        params = {**mapping.step_params(step), "owner": owner}
        query = _QUERIES["put_step" if owner is None else "put_step_fenced"]
        return bool(self._write(lambda conn: conn.execute(query, params).rowcount))

    def add_logs(self, logs: Sequence[records.LogRecord]) -> None:
        """See `Store.add_logs`: lines are committed with the next write, or within 0.2 s."""
        if self._closed.is_set():
            return
        self._commits.add_logs([mapping.log_params(log) for log in logs])
        if self._flusher is None:
            self._start_flusher()

    def _start_flusher(self) -> None:
        with self._readers_lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(
                target=self._flush_logs, name="tarry-log-flusher", daemon=True
            )
            self._flusher.start()

    def _flush_logs(self) -> None:
        while not self._closed.wait(_LOG_FLUSH_SECONDS):
            if self._commits.has_logs():
                try:
                    self._commits.run(lambda conn: None, durable=False)
                except errors.StoreError:
                    # A failed flush keeps nothing to retry with; the next
                    # write reports the database's trouble to its caller.
                    continue

    def get_logs(self, run_id: str, limit: int = 1000) -> list[records.LogRecord]:
        """See `Store.get_logs`."""
        rows = self._read("get_logs", {"run_id": run_id, "limit": limit})
        return [mapping.log_from_row(row) for row in rows]

    # -- WaitStore --------------------------------------------------------------
    # get_wait, waits_of_run, open_inputs, closed_waits_since: `NamedReads`.

    def open_waits(
        self, waits: Sequence[records.WaitRecord], change: records.StateChange
    ) -> list[records.WaitRecord]:
        """See `Store.open_waits`."""
        # Lazy: lost to a power cut only with everything after it, and a run that
        # lost its wait opens it again when recovered. Answers commit durably.
        return self._write(lambda conn: _open_waits(conn, waits, change), durable=False)

    def close_wait(self, close: records.WaitClose) -> records.WaitClosed | None:
        """See `Store.close_wait`."""
        return self._write(lambda conn: _close_wait(conn, close))

    def suspend_runs(
        self,
        run_ids: Sequence[str],
        wait_ids: Sequence[str],
        *,
        owner: str,
        at: float,
        reason: str,
    ) -> bool:
        """See `Store.suspend_runs`."""
        change = rules.suspend_change(owner, at, reason)
        return self._write(lambda conn: _suspend_runs(conn, run_ids, wait_ids, change))

    def cancel_run(self, run_id: str, at: float, reason: str) -> records.RunsCancelled | None:
        """See `Store.cancel_run`."""
        return self._write(lambda conn: _cancel_run(conn, run_id, rules.cancel_change(at, reason)))

    def due_waits(self, now: float, limit: int) -> list[records.WaitRecord]:
        """See `Store.due_waits`."""
        return [
            mapping.wait_from_row(r) for r in self._read("due_waits", {"now": now, "limit": limit})
        ]

    # -- EarlyInputStore --------------------------------------------------------
    # pending_early_inputs: `NamedReads`.

    def add_early_input(self, early: records.EarlyInput) -> int:
        """See `Store.add_early_input`."""
        params = mapping.early_params(early)
        cursor = self._write(lambda conn: conn.execute(_QUERIES["insert_early_input"], params))
        return int(cursor.lastrowid or 0)

    def reject_early_input(self, early_id: int, detail: str) -> None:
        """See `Store.reject_early_input`."""
        params = {"id": early_id, "status": "rejected", "detail": detail}
        self._write(lambda conn: conn.execute(_QUERIES["settle_early_input"], params))

    # -- MessageStore -----------------------------------------------------------
    # messages_of_run: `NamedReads`.

    def send_message(
        self, message: records.MessageRecord, resume_as: records.StateChange | None = None
    ) -> records.MessageSent:
        """See `Store.send_message`."""
        return self._write(lambda conn: _send_message(conn, message, resume_as))

    # -- CatalogStore -----------------------------------------------------------
    # get_deployment, list_deployments, get_variable: `NamedReads`.

    def put_deployment(self, deployment: records.DeploymentRecord) -> records.DeploymentRecord:
        """See `Store.put_deployment`."""

        def op(conn: sqlite3.Connection) -> records.DeploymentRecord:
            conn.execute(_QUERIES["put_deployment"], mapping.deployment_params(deployment))
            row = conn.execute(_QUERIES["get_deployment"], {"name": deployment.name}).fetchone()
            return mapping.deployment_from_row(row)

        return self._write(op)

    def set_variable(self, name: str, value: str, at: float, *, overwrite: bool) -> bool:
        """See `Store.set_variable`."""
        query = _QUERIES["put_variable" if overwrite else "insert_variable"]
        params = {"name": name, "value": value, "updated_at": at}
        return bool(self._write(lambda conn: conn.execute(query, params).rowcount))

    # -- OutboxStore ------------------------------------------------------------
    # outbox_of_run, next_outbox_due: `NamedReads`.

    def queue_outbox(self, items: Sequence[outbox.OutboxItem]) -> int:
        """See `OutboxStore.queue_outbox`."""
        params = [outbox.item_params(item) for item in items]

        def op(conn: sqlite3.Connection) -> int:
            return sum(conn.execute(_QUERIES["queue_outbox"], p).rowcount for p in params)

        return self._write(op)

    def claim_outbox(
        self, owner: str, now: float, until: float, limit: int
    ) -> list[outbox.OutboxItem]:
        """See `OutboxStore.claim_outbox`."""
        params = {"owner": owner, "now": now, "until": until, "limit": limit}

        def op(conn: sqlite3.Connection) -> list[outbox.OutboxItem]:
            rows = conn.execute(_QUERIES["claim_outbox"], params).fetchall()
            return sorted(map(outbox.item_from_row, rows), key=lambda i: (i.due_at, i.id))

        return self._write(op, durable=False)

    def settle_outbox(self, outcomes: Sequence[tuple[int, outbox.Settlement]]) -> None:
        """See `OutboxStore.settle_outbox`."""
        params = [outbox.settle_params(item_id, outcome) for item_id, outcome in outcomes]
        self._write(lambda conn: conn.executemany(_QUERIES["settle_outbox"], params))

    # -- Wakeups ----------------------------------------------------------------
    # listen, serves_timers, hold_owner, gone_owners: `wakeups.Unpushed` (SQLite cannot push).


def _open_waits(
    conn: sqlite3.Connection, waits: Sequence[records.WaitRecord], change: records.StateChange
) -> list[records.WaitRecord]:
    for wait in waits:
        conn.execute(_QUERIES["insert_wait"], mapping.wait_params(wait))
    first = waits[0]
    params = {"run_id": first.run_id, "step_key": first.step_key, "attempt": first.attempt}
    stored = [mapping.wait_from_row(r) for r in conn.execute(_QUERIES["waits_of_step"], params)]
    if any(w.status is not WaitStatus.OPEN for w in stored):
        return stored  # answered while the run was away: it goes on Running
    if _deliver_pending(conn, stored, change.at):
        return [mapping.wait_from_row(r) for r in conn.execute(_QUERIES["waits_of_step"], params)]
    row = conn.execute(_QUERIES["get_run"], {"id": first.run_id}).fetchone()
    run = mapping.run_from_row(row) if row is not None else None
    if run is not None and rules.change_allowed(run, (RunState.RUNNING,), change):
        update_run(conn, run, change)
    return stored


def _deliver_pending(
    conn: sqlite3.Connection, waits: Sequence[records.WaitRecord], at: float
) -> bool:
    """Close the first MESSAGE wait of `waits` with the oldest pending message it takes."""
    receives = [w for w in waits if w.kind is WaitKind.MESSAGE]
    if not receives:
        return False
    rows = conn.execute(_QUERIES["pending_messages"], {"run_id": receives[0].run_id})
    for message in (mapping.message_from_row(row) for row in rows):
        for wait in receives:
            if rules.message_matches(wait, message):
                _close_wait(conn, rules.message_close(wait, message, at))
                return True
    return False


def _close_wait(conn: sqlite3.Connection, close: records.WaitClose) -> records.WaitClosed | None:
    row = conn.execute(_QUERIES["get_wait"], {"id": close.wait_id}).fetchone()
    if row is None:
        return None
    wait = mapping.wait_from_row(row)
    if wait.status is not WaitStatus.OPEN:
        return records.WaitClosed(won=False, wait=wait)
    conn.execute(_QUERIES["close_wait"], mapping.close_params(close))
    conn.execute(
        _QUERIES["cancel_other_alternatives"],
        {
            "run_id": wait.run_id,
            "step_key": wait.step_key,
            "attempt": wait.attempt,
            "id": wait.id,
            "closed_at": close.at,
        },
    )
    conn.execute(_QUERIES["put_step"], mapping.step_params(close.step))
    if close.early_input_id is not None:
        params = {"id": close.early_input_id, "status": "consumed", "detail": None}
        conn.execute(_QUERIES["settle_early_input"], params)
    if close.message_id is not None:
        received = {"id": close.message_id, "received_at": close.at}
        conn.execute(_QUERIES["receive_message"], {**received, "received_step_key": wait.step_key})
    return rules.wait_closed(wait, close, _wake_root(conn, wait.run_id, close))


def _wake_root(
    conn: sqlite3.Connection, run_id: str, close: records.WaitClose
) -> records.RunRecord | None:
    # A resident run goes back to Running in this same transaction, so its waiter
    # continues without a write of its own. A suspended run is re-executed from
    # its top-level run, whose replay re-enters the children down to the wait;
    # only that root needs a process.
    run = mapping.run_from_row(conn.execute(_QUERIES["get_run"], {"id": run_id}).fetchone())
    if run.state is RunState.WAITING and run.lease_owner is not None:
        update_run(conn, run, rules.resumed_change(close))
        return None
    while run.parent_id is not None:
        run = mapping.run_from_row(
            conn.execute(_QUERIES["get_run"], {"id": run.parent_id}).fetchone()
        )
    if run.state is not RunState.WAITING or run.lease_owner is not None:
        return None
    return update_run(conn, run, rules.woken_root_change(close))


def _suspend_runs(
    conn: sqlite3.Connection,
    run_ids: Sequence[str],
    wait_ids: Sequence[str],
    change: records.StateChange,
) -> bool:
    for wait_id in wait_ids:
        row = conn.execute(_QUERIES["get_wait"], {"id": wait_id}).fetchone()
        if row is None or row["status"] != WaitStatus.OPEN.value:
            return False
    for run_id in run_ids:
        row = conn.execute(_QUERIES["get_run"], {"id": run_id}).fetchone()
        run = mapping.run_from_row(row) if row is not None else None
        allowed = (RunState.RUNNING, RunState.WAITING)
        if run is not None and rules.change_allowed(run, allowed, change):
            update_run(conn, run, change)
    return True


def _cancel_run(
    conn: sqlite3.Connection, run_id: str, change: records.StateChange
) -> records.RunsCancelled | None:
    tree = [mapping.run_from_row(r) for r in conn.execute(_QUERIES["run_tree"], {"id": run_id})]
    if not tree:
        return None
    cancelled = [update_run(conn, run, change) for run in tree if not run.state.is_final]
    wait_ids: list[str] = []
    for run in cancelled:
        params = {"run_id": run.id}
        wait_ids += [r["id"] for r in conn.execute(_QUERIES["open_waits_of_run"], params)]
        conn.execute(_QUERIES["cancel_open_waits_of_run"], {**params, "closed_at": change.at})
    return records.RunsCancelled(cancelled, wait_ids)


def _send_message(
    conn: sqlite3.Connection, message: records.MessageRecord, resume_as: records.StateChange | None
) -> records.MessageSent:
    created = conn.execute(_QUERIES["insert_message"], mapping.message_params(message)).rowcount
    stored = _stored_message(conn, message)
    if not created:
        return records.MessageSent(stored, created=False)
    params = {"run_id": message.run_id}
    for row in conn.execute(_QUERIES["open_message_waits_of_run"], params).fetchall():
        wait = mapping.wait_from_row(row)
        if rules.message_matches(wait, stored):
            close = rules.message_close(wait, stored, message.sent_at, resume_as)
            closed = _close_wait(conn, close)
            received = _stored_message(conn, message)
            return records.MessageSent(received, created=True, closed=closed, step=close.step)
    return records.MessageSent(stored, created=True)


def _stored_message(
    conn: sqlite3.Connection, message: records.MessageRecord
) -> records.MessageRecord:
    where = {"run_id": message.run_id, "key": message.key}
    return mapping.message_from_row(conn.execute(_QUERIES["get_message"], where).fetchone())


# mypy checks here that the adapter is a whole `Store`; at run time it is one assignment.
_CONFORMS: type[port.Store] = SqliteStore
