"""The PostgreSQL store: any number of processes on any number of hosts share one database.

Connections come from a psycopg pool and run in autocommit mode. A write that is
one statement is its own transaction: one round trip. A write of several
statements runs in a *pipeline* between `BEGIN` and `COMMIT`, so the statements
whose results it does not need travel to the server together with the commit.

Isolation is PostgreSQL's READ COMMITTED plus explicit row locks, so that what
SQLite's single writer gave for free holds across processes (the transaction
bodies and their locking are in `postgres_ops`):

* a transaction that changes a run, or a wait, message or early input of a run,
  first locks the run and its ancestors up to the top-level run, all in run id
  order, so two transactions never wait for each other in a cycle;
* `claim_runs` skips runs locked by a concurrent claim (`SKIP LOCKED`), so
  workers claim at once and never the same run twice;
* a deadlock PostgreSQL detects all the same (a child run created while its
  tree is being cancelled) rolls back and runs the transaction again.

Every transaction that closes a wait or makes a run Pending also sends a
notification on channel `tarry_wake` (see `postgres_ops.wake_payload`);
PostgreSQL delivers it to listeners when, and only if, the transaction commits.

Payloads stay JSON *text*, not `jsonb`: they come back byte for byte as stored,
as on SQLite, and the store never looks inside them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg.rows import DictRow, dict_row

from tarry import errors, interrupts
from tarry.states import RunState
from tarry.storage import claiming, named_reads, outbox, port, records, rules, wakeups
from tarry.storage import postgres_ops as ops
from tarry.storage import rows as mapping
from tarry.storage.postgres_automations import PostgresAutomations
from tarry.storage.postgres_cache import PostgresCache
from tarry.storage.postgres_events import PostgresEvents
from tarry.storage.postgres_limits import PostgresLimits
from tarry.storage.postgres_listen import Listener
from tarry.storage.postgres_pools import PostgresPools, claim_in_pool
from tarry.storage.postgres_schedules import PostgresSchedules
from tarry.storage.postgres_webhooks import PostgresWebhooks

__all__ = ["PostgresStore"]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]

_QUERIES = ops.QUERIES
_LOG_FLUSH_SECONDS = 0.2
_CONNECT_TIMEOUT_SECONDS = 10
_DEADLOCK_RETRIES = 5


class PostgresStore(
    named_reads.NamedReads,
    PostgresSchedules,
    PostgresPools,
    PostgresLimits,
    PostgresCache,
    PostgresEvents,
    PostgresAutomations,
    PostgresWebhooks,
):
    """`Store` on a PostgreSQL database (psycopg 3, a pool of connections).

    Args:
        url: A libpq URL, `postgresql://user:password@host:port/dbname?options`.
        max_connections: The most connections this store opens at once.

    Raises:
        errors.StoreError: The server cannot be reached.
    """

    def __init__(self, url: str, *, max_connections: int = 10) -> None:
        self.url = url
        _check_reachable(url)
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            connection_class=psycopg.Connection[DictRow],
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=False,
            name="tarry",
        )
        self._pool.open(wait=True, timeout=_CONNECT_TIMEOUT_SECONDS)
        self._closed = threading.Event()
        self._logs = _LogBuffer(self._insert_logs, self._closed)
        self._listener = Listener(url)

    def __repr__(self) -> str:
        return f"PostgresStore({_describe(self.url)!r})"

    # -- connections ------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Conn]:
        if self._closed.is_set():
            raise errors.StoreError("the store is closed")
        # Shielded: an interrupt must not leave a transaction or the pool half-done.
        try:
            with interrupts.shielded(), self._pool.connection() as conn:
                yield conn
        except psycopg_pool.PoolClosed as exc:
            raise errors.StoreError("the store is closed") from exc
        except psycopg.Error as exc:
            raise errors.StoreError(f"PostgreSQL: {exc}") from exc

    def _read(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        with self._connection() as conn:
            return conn.execute(_QUERIES[query], params).fetchall()

    def _write(self, query: str, params: dict[str, Any]) -> int:
        """Run one statement as its own (durable) transaction; the rows it changed."""
        with self._connection() as conn:
            return conn.execute(_QUERIES[query], params).rowcount

    def _returning(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        """Run one statement as its own (durable) transaction; the rows it returned."""
        return self._read(query, params)  # autocommit: a lone write commits by itself

    def _transaction(self, op: Callable[[Conn], T], *, durable: bool = True) -> T:
        """Run `op` in one transaction, again if PostgreSQL broke a deadlock by aborting it."""
        with self._connection() as conn:
            for _ in range(_DEADLOCK_RETRIES - 1):
                with contextlib.suppress(psycopg.errors.DeadlockDetected):
                    return ops.in_transaction(conn, op, durable=durable)
            return ops.in_transaction(conn, op, durable=durable)

    # -- lifecycle --------------------------------------------------------------

    def migrate(self) -> None:
        """See `Store.migrate`: one transaction under an advisory lock per schema."""
        with self._connection() as conn, conn.transaction():
            ops.apply_migrations(conn)

    def schema_version(self) -> int:
        """The number of the last migration applied (0 for an empty schema)."""
        if not self._read("migrations_table_exists", {})[0]["present"]:
            return 0
        versions = [row["version"] for row in self._read("applied_migrations", {})]
        return max(versions, default=0)

    def close(self) -> None:
        """See `Store.close`: writes the log lines still buffered first."""
        if self._closed.is_set():
            return
        self._logs.close()
        self._closed.set()
        self._listener.stop()
        self._pool.close()

    # -- RunStore ---------------------------------------------------------------
    # get_run, get_transitions: `NamedReads`.

    def insert_run(self, run: records.RunRecord, reason: str = "", *, durable: bool = True) -> bool:
        """See `Store.insert_run`: with `durable=False` the commit does not wait for the disk."""
        params = {
            **mapping.run_params(run),
            "reason": reason,
            "wake": ops.wake_payload("run_ready", run.id),
        }
        if durable:
            return bool(self._returning("insert_run", params))
        query = _QUERIES["insert_run"]
        return self._transaction(
            lambda conn: bool(conn.execute(query, params).fetchall()), durable=False
        )

    def run_states(self, run_ids: Sequence[str]) -> dict[str, RunState]:
        """See `Store.run_states`."""
        rows = self._read("run_states", {"ids": list(run_ids)})
        return {row["id"]: RunState(row["state"]) for row in rows}

    def run_ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """See `Store.run_ids_starting_with`."""
        # A range on the primary key (collation "C"): uses its index, unlike LIKE.
        params = {"low": prefix, "high": prefix + "\U0010ffff", "limit": limit}
        return [row["id"] for row in self._read("run_ids_in_range", params)]

    def list_runs(self, where: records.RunFilter) -> list[records.RunRecord]:
        """See `Store.list_runs`."""
        params = named_reads.list_runs_params(where, list)
        return [mapping.run_from_row(row) for row in self._read("list_runs", params)]

    def transition(
        self, run_id: str, expected: Collection[RunState], change: records.StateChange
    ) -> records.RunRecord | None:
        """See `Store.transition`: one statement when the state before is known, else locked.

        The one statement's `WHERE` is checked on the run's latest version under its
        lock, so when it changes no row the preconditions did not hold at that point:
        the answer is `None`, as the locked read would have found.
        """
        params = ops.transition_params(run_id, expected, change)
        if params is None:
            return self._transaction(lambda conn: ops.transition(conn, run_id, expected, change))
        rows = self._returning("transition_run", params)
        return mapping.run_from_row(rows[0]) if rows else None

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
        with self._connection() as conn:
            return claim_in_pool(conn, claim, lambda op: ops.in_transaction(conn, op))

    def lease_owners(self) -> list[str]:
        """See `Store.lease_owners`."""
        return [row["lease_owner"] for row in self._read("lease_owners", {})]

    def renew_leases(self, owner: str, lease_expires_at: float) -> int:
        """See `Store.renew_leases`."""
        return self._write("renew_leases", {"owner": owner, "lease_expires_at": lease_expires_at})

    def hold_owner(self, owner: str, on_lost: Callable[[], None], *, wait: bool = False) -> bool:
        """See `Store.hold_owner`: a session advisory lock on the listening connection."""
        self._listener.hold(owner, on_lost, wait=wait)
        return True

    def gone_owners(self) -> list[str]:
        """See `Store.gone_owners`: one statement (`gone_owners` in the queries)."""
        rows = self._read("gone_owners", {"mine": self._listener.held_owners()})
        return [row["owner"] for row in rows]

    # -- JournalStore -----------------------------------------------------------
    # get_steps, get_step: `NamedReads`.

    def put_step(self, step: records.StepRecord, *, owner: str | None = None) -> bool:
        """See `Store.put_step`: one statement, one round trip."""
        params = {**mapping.step_params(step), "owner": owner}
        return bool(self._write("put_step" if owner is None else "put_step_fenced", params))

    def add_logs(self, logs: Sequence[records.LogRecord]) -> None:
        """See `Store.add_logs`: lines are written within 0.2 s, in order, without waiting."""
        if not self._closed.is_set() and logs:
            self._logs.add(logs)

    def _insert_logs(self, lines: list[records.LogRecord]) -> None:
        # Log lines may be lost to a power cut (not to a crash of the server):
        # their commit does not wait for the disk.
        params = ops.columns([ops.log_params(line) for line in lines])
        query = _QUERIES["add_logs"]
        self._transaction(lambda conn: conn.execute(query, params), durable=False)

    def get_logs(self, run_id: str, limit: int = 1000) -> list[records.LogRecord]:
        """See `Store.get_logs`: this store's buffered lines are written first."""
        self._logs.flush()
        rows = self._read("get_logs", {"run_id": run_id, "limit": limit})
        return [mapping.log_from_row(row) for row in rows]

    # -- WaitStore --------------------------------------------------------------
    # get_wait, waits_of_run, open_inputs, closed_waits_since: `NamedReads`.

    def open_waits(
        self, waits: Sequence[records.WaitRecord], change: records.StateChange
    ) -> list[records.WaitRecord]:
        """See `Store.open_waits`."""
        return self._transaction(lambda conn: ops.open_waits(conn, waits, change))

    def close_wait(self, close: records.WaitClose) -> records.WaitClosed | None:
        """See `Store.close_wait`: of two concurrent closes, the first to lock the run wins."""
        return self._transaction(lambda conn: ops.close_wait(conn, close))

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
        return self._transaction(lambda conn: ops.suspend_runs(conn, run_ids, wait_ids, change))

    def cancel_run(self, run_id: str, at: float, reason: str) -> records.RunsCancelled | None:
        """See `Store.cancel_run`."""
        change = rules.cancel_change(at, reason)
        return self._transaction(lambda conn: ops.cancel_run(conn, run_id, change))

    def due_waits(self, now: float, limit: int) -> list[records.WaitRecord]:
        """See `Store.due_waits`."""
        rows = self._read("due_waits", {"now": now, "limit": limit})
        return [mapping.wait_from_row(r) for r in rows]

    # -- EarlyInputStore --------------------------------------------------------
    # pending_early_inputs: `NamedReads`.

    def add_early_input(self, early: records.EarlyInput) -> int:
        """See `Store.add_early_input`."""
        [row] = self._returning("insert_early_input", mapping.early_params(early))
        return int(row["id"])

    def reject_early_input(self, early_id: int, detail: str) -> None:
        """See `Store.reject_early_input`."""
        self._write("settle_early_input", {"id": early_id, "status": "rejected", "detail": detail})

    # -- MessageStore -----------------------------------------------------------
    # messages_of_run: `NamedReads`.

    def send_message(
        self, message: records.MessageRecord, resume_as: records.StateChange | None = None
    ) -> records.MessageSent:
        """See `Store.send_message`: two sends of one key are serialised by the receiver's lock."""
        return self._transaction(lambda conn: ops.send_message(conn, message, resume_as))

    # -- CatalogStore -----------------------------------------------------------
    # get_deployment, list_deployments, get_variable: `NamedReads`.

    def put_deployment(self, deployment: records.DeploymentRecord) -> records.DeploymentRecord:
        """See `Store.put_deployment`."""
        [row] = self._returning("put_deployment", mapping.deployment_params(deployment))
        return mapping.deployment_from_row(row)

    def set_variable(self, name: str, value: str, at: float, *, overwrite: bool) -> bool:
        """See `Store.set_variable`."""
        query = "put_variable" if overwrite else "insert_variable"
        return bool(self._write(query, {"name": name, "value": value, "updated_at": at}))

    # -- OutboxStore ------------------------------------------------------------
    # outbox_of_run, next_outbox_due: `NamedReads`.

    def queue_outbox(self, items: Sequence[outbox.OutboxItem]) -> int:
        """See `OutboxStore.queue_outbox`: one statement for all the items."""
        if not items:
            return 0
        params = ops.columns([outbox.item_params(item) for item in items])
        return len(self._returning("queue_outbox", params))

    def claim_outbox(
        self, owner: str, now: float, until: float, limit: int
    ) -> list[outbox.OutboxItem]:
        """See `OutboxStore.claim_outbox`."""
        params = {"owner": owner, "now": now, "until": until, "limit": limit}
        items = map(outbox.item_from_row, self._returning("claim_outbox", params))
        return sorted(items, key=lambda i: (i.due_at, i.id))

    def settle_outbox(self, outcomes: Sequence[tuple[int, outbox.Settlement]]) -> None:
        """See `OutboxStore.settle_outbox`."""
        params = [outbox.settle_params(item_id, outcome) for item_id, outcome in outcomes]
        self._transaction(lambda conn: conn.cursor().executemany(_QUERIES["settle_outbox"], params))

    # -- Wakeups ----------------------------------------------------------------

    def listen(self, callback: Callable[[wakeups.Wake], None]) -> wakeups.Unlisten | None:
        """See `Store.listen`: `LISTEN tarry_wake` on a connection of its own."""
        return self._listener.subscribe(callback)

    def serves_timers(self) -> bool:
        """See `Store.serves_timers`: while this process holds the timer lock."""
        self._listener.start()
        return self._listener.holds_timer_duty


class _LogBuffer:
    """Log lines waiting to be written: by a background thread, one batch at a time, in order.

    Lines are logged from flows' threads and event loops, which must not wait for
    a round trip per line; one writer at a time keeps them in the order logged.
    """

    def __init__(self, write: Callable[[list[records.LogRecord]], None], stop: threading.Event):
        self._write = write
        self._stop = stop
        self._lines: list[records.LogRecord] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, lines: Sequence[records.LogRecord]) -> None:
        with self._lock:
            self._lines.extend(lines)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tarry-pg-log-writer", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        with self._writing:
            with self._lock:
                lines, self._lines = self._lines, []
            if lines:
                self._write(lines)

    def close(self) -> None:
        self.flush()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(_LOG_FLUSH_SECONDS):
            try:
                self.flush()
            except errors.StoreError:
                # Nothing to retry with: the lines are lost, and the next write
                # reports the database's trouble to its caller.
                continue


def _check_reachable(url: str) -> None:
    """Connect once, to fail at once with libpq's reason rather than after a pool timeout."""
    try:
        psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as exc:
        # libpq's reason spans lines (with a hint); one line reads better in a terminal or log.
        reason = " ".join(str(exc).split())
        raise errors.StoreError(
            f"cannot connect to PostgreSQL at {_describe(url)}: {reason} (check TARRY_DATABASE_URL)"
        ) from exc


def _describe(url: str) -> str:
    """`host:port/dbname` of a URL, without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an invalid URL)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


# mypy checks here that the adapter is a whole `Store`; at run time it is one assignment.
_CONFORMS: type[port.Store] = PostgresStore
