"""The PostgreSQL store's transactions: what each multi-statement write does, and its locks.

Each function takes a connection inside an open transaction (see
`in_transaction`). The rule that keeps them free of deadlocks and races: lock
the runs a transaction changes, with their ancestors, first and in run id order
(`lock_*` queries); change a run's waits, messages and early inputs only while
holding its lock. A second transaction touching the same runs then waits for
the first to commit and sees what it wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, TypeVar

import psycopg
from psycopg.rows import DictRow

from tarry import errors
from tarry.states import TRANSITIONS, RunState, WaitKind, WaitStatus
from tarry.storage import records, rules, sqlfiles
from tarry.storage import rows as mapping

__all__ = [
    "QUERIES",
    "WakeEvent",
    "apply_migrations",
    "cancel_run",
    "close_wait",
    "columns",
    "in_transaction",
    "log_params",
    "open_waits",
    "send_message",
    "suspend_runs",
    "transition",
    "transition_params",
    "wake_payload",
]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]
Runs = dict[str, records.RunRecord]

QUERIES = sqlfiles.load_queries("postgres")
"""The named queries of `sql/postgres/queries.sql`."""

_MIGRATION_LOCK = 0x7A77
"""First key of the advisory lock that serialises migrations (the second is the schema's)."""

WakeEvent = Literal["wait_closed", "run_ready", "run_ended", "run_cancelled"]
"""What a `tarry_wake` notification announces."""


def wake_payload(event: WakeEvent, run_id: str, wait_id: str | None = None) -> str:
    """The payload of a notification on channel `tarry_wake`: compact JSON text.

    `{"event": "wait_closed", "run_id": R, "wait_id": W}`: wait W of run R was
    answered, timed out, received a message or was cancelled.
    `{"event": "run_ready", "run_id": R}`: run R became Pending (any process may
    claim it). `{"event": "run_ended", "run_id": R}`: run R reached a final
    state. `{"event": "run_cancelled", "run_id": R}`: run R was cancelled.

    Args:
        event: What happened.
        run_id: The run it happened to.
        wait_id: The wait, for `wait_closed`.
    """
    fields = {"event": event, "run_id": run_id}
    if wait_id is not None:
        fields["wait_id"] = wait_id
    return json.dumps(fields, separators=(",", ":"))


def in_transaction(conn: Conn, op: Callable[[Conn], T], *, durable: bool = True) -> T:
    """Run `op` between BEGIN and COMMIT in a pipeline; roll back if anything fails.

    Args:
        conn: An autocommit connection.
        op: The transaction's body.
        durable: `False` lets the commit return before it reaches the disk: it
            survives a crash of the client or of the server, and a power cut once
            any later durable commit has flushed the log past it.
    """
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            if not durable:
                conn.execute("SET LOCAL synchronous_commit TO off")
            result = op(conn)
            conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise
    return result


def _roll_back(conn: Conn) -> None:
    try:
        conn.rollback()
    except psycopg.Error:
        # A broken connection: the pool discards it, and its transaction is gone.
        return


def apply_migrations(conn: Conn) -> None:
    """Apply the migrations this schema lacks, under a lock held until the caller commits.

    Raises:
        errors.MigrationError: The schema was migrated by a newer tarry.
    """
    conn.execute(QUERIES["lock_migrations"], {"key": _MIGRATION_LOCK})
    conn.execute(QUERIES["create_migrations_table"])
    done = {row["version"] for row in conn.execute(QUERIES["applied_migrations"])}
    migrations = sqlfiles.load_migrations("postgres")
    if done - {m.version for m in migrations}:
        raise errors.MigrationError(
            "this database was written by a newer tarry; upgrade tarry to use it"
        )
    for migration in migrations:
        if migration.version not in done:
            # No parameters: sent as one simple query, several statements at once.
            conn.execute(migration.sql)
            params = {"version": migration.version, "name": migration.name}
            conn.execute(QUERIES["record_migration"], {**params, "applied_at": time.time()})


# -- locks and run updates ---------------------------------------------------------


def _locked(conn: Conn, query: str, params: dict[str, Any]) -> Runs:
    return {row["id"]: mapping.run_from_row(row) for row in conn.execute(QUERIES[query], params)}


def _update_run(
    conn: Conn, run: records.RunRecord, change: records.StateChange
) -> records.RunRecord:
    new = rules.apply_change(run, change)
    params = {**mapping.run_params(new), "expected_state": run.state.value}
    conn.execute(QUERIES["update_run"], params)
    transition = records.TransitionRecord(run.id, run.state, new.state, change.at, change.reason)
    conn.execute(QUERIES["insert_transition"], mapping.transition_params(transition))
    event = _wake_event(new.state)
    if event is not None:
        _wake(conn, event, run.id)
    return new


def _wake_event(state: RunState) -> WakeEvent | None:
    """What a run reaching `state` announces: a cancel announces itself (`run_cancelled`)."""
    if state is RunState.PENDING:
        return "run_ready"
    if state.is_final and state is not RunState.CANCELLED:
        return "run_ended"
    return None


def _wake(conn: Conn, event: WakeEvent, run_id: str, wait_id: str | None = None) -> None:
    conn.execute(QUERIES["wake"], {"payload": wake_payload(event, run_id, wait_id)})


# -- RunStore ----------------------------------------------------------------------


def transition(
    conn: Conn, run_id: str, expected: Collection[RunState], change: records.StateChange
) -> records.RunRecord | None:
    """`Store.transition`, with the run locked."""
    run = _locked(conn, "lock_runs", {"ids": [run_id]}).get(run_id)
    if run is None or not rules.change_allowed(run, expected, change):
        return None
    return _update_run(conn, run, change)


def transition_params(
    run_id: str, expected: Collection[RunState], change: records.StateChange
) -> dict[str, Any] | None:
    """Parameters of `transition_run`, `Store.transition` in one statement; `None` if it cannot.

    It can when the state before is known (one expected state) and the change is
    allowed from it: the statement then does what `rules.apply_change` does. Else the
    locked read in `transition` decides (and raises what `apply_change` raises).
    """
    if len(expected) != 1:
        return None
    [from_state] = expected
    # Leaving an ended state (a retry, rare) clears `ended_at`: `apply_change` does it.
    if change.to_state not in TRANSITIONS[from_state] or from_state.is_final:
        return None
    final = change.to_state.is_final
    fields = {
        name: getattr(change, name)
        for name in ("result", "error", "lease_owner", "lease_expires_at", "attempt")
    }
    params: dict[str, Any] = {
        f"set_{name}": not isinstance(value, records.Unset) for name, value in fields.items()
    }
    params.update({n: None if isinstance(v, records.Unset) else v for n, v in fields.items()})
    if final:
        params.update(set_lease_owner=True, lease_owner=None)
        params.update(set_lease_expires_at=True, lease_expires_at=None)
    event = _wake_event(change.to_state)
    params.update(
        id=run_id,
        from_state=from_state.value,
        to_state=change.to_state.value,
        reason=change.reason,
        at=change.at,
        set_ended_at=final,
        require_owner=change.require_owner,
        wake=None if event is None else wake_payload(event, run_id),
    )
    return params


# -- JournalStore ------------------------------------------------------------------


def columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Rows of query parameters as one list per column, for an insert from `unnest`.

    One statement then inserts any number of rows, in one round trip.
    """
    return {name: [row[name] for row in rows] for name in rows[0]}


def log_params(line: records.LogRecord) -> dict[str, Any]:
    """Query parameters of a log line, as PostgreSQL can store it."""
    params = mapping.log_params(line)
    # PostgreSQL text cannot hold NUL; a log line is for reading, so mark where it was.
    params["message"] = line.message.replace("\x00", "\ufffd")
    return params


# -- WaitStore ---------------------------------------------------------------------


def open_waits(
    conn: Conn, waits: Sequence[records.WaitRecord], change: records.StateChange
) -> list[records.WaitRecord]:
    """`Store.open_waits`, with the run and its ancestors locked."""
    first = waits[0]
    runs = _locked(conn, "lock_run_chain", {"run_id": first.run_id})
    for wait in waits:
        conn.execute(QUERIES["insert_wait"], mapping.wait_params(wait))
    stored = _waits_of_step(conn, first)
    if any(w.status is not WaitStatus.OPEN for w in stored):
        return stored  # answered while the run was away: it goes on Running
    if _deliver_pending(conn, runs, stored, change.at):
        return _waits_of_step(conn, first)
    run = runs.get(first.run_id)
    if run is not None and rules.change_allowed(run, (RunState.RUNNING,), change):
        _update_run(conn, run, change)
    return stored


def _waits_of_step(conn: Conn, wait: records.WaitRecord) -> list[records.WaitRecord]:
    params = {"run_id": wait.run_id, "step_key": wait.step_key, "attempt": wait.attempt}
    return [mapping.wait_from_row(r) for r in conn.execute(QUERIES["waits_of_step"], params)]


def _deliver_pending(
    conn: Conn, runs: Runs, waits: Sequence[records.WaitRecord], at: float
) -> bool:
    """Close the first MESSAGE wait of `waits` with the oldest pending message it takes."""
    receives = [w for w in waits if w.kind is WaitKind.MESSAGE]
    if not receives:
        return False
    rows = conn.execute(QUERIES["pending_messages"], {"run_id": receives[0].run_id}).fetchall()
    for message in (mapping.message_from_row(row) for row in rows):
        for wait in receives:
            if rules.message_matches(wait, message):
                _close_open(conn, runs, wait, rules.message_close(wait, message, at))
                return True
    return False


def close_wait(conn: Conn, close: records.WaitClose) -> records.WaitClosed | None:
    """`Store.close_wait`: lock the wait's run and its ancestors, then check the wait is open.

    The check after the lock is what makes the first answer win: a concurrent
    close of the same wait holds the same lock until it commits, and the wait is
    read again only once that lock is ours.
    """
    runs = _locked(conn, "lock_chain_of_wait", {"wait_id": close.wait_id})
    if not runs:
        return None
    row = conn.execute(QUERIES["get_wait"], {"id": close.wait_id}).fetchone()
    if row is None:
        return None
    wait = mapping.wait_from_row(row)
    if wait.status is not WaitStatus.OPEN:
        return records.WaitClosed(won=False, wait=wait)
    return _close_open(conn, runs, wait, close)


def _close_open(
    conn: Conn, runs: Runs, wait: records.WaitRecord, close: records.WaitClose
) -> records.WaitClosed:
    """Close `wait`, known open under the lock of its run and ancestors (`runs`)."""
    conn.execute(QUERIES["close_wait"], mapping.close_params(close))
    others = {"run_id": wait.run_id, "step_key": wait.step_key, "attempt": wait.attempt}
    conn.execute(
        QUERIES["cancel_other_alternatives"], {**others, "id": wait.id, "closed_at": close.at}
    )
    conn.execute(QUERIES["put_step"], mapping.step_params(close.step))
    if close.early_input_id is not None:
        params = {"id": close.early_input_id, "status": "consumed", "detail": None}
        conn.execute(QUERIES["settle_early_input"], params)
    if close.message_id is not None:
        received = {"id": close.message_id, "received_at": close.at}
        conn.execute(QUERIES["receive_message"], {**received, "received_step_key": wait.step_key})
    _wake(conn, "wait_closed", wait.run_id, wait.id)
    return rules.wait_closed(wait, close, _wake_root(conn, runs, wait.run_id, close))


def _wake_root(
    conn: Conn, runs: Runs, run_id: str, close: records.WaitClose
) -> records.RunRecord | None:
    # A resident run goes back to Running in this same transaction; a suspended
    # one is re-executed from its top-level run, which alone needs a process.
    found = rules.run_to_wake(runs, run_id)
    if found is None:
        return None
    run, is_root = found
    if not is_root:
        runs[run.id] = _update_run(conn, run, rules.resumed_change(close))
        return None
    runs[run.id] = _update_run(conn, run, rules.woken_root_change(close))
    return runs[run.id]


def suspend_runs(
    conn: Conn, run_ids: Sequence[str], wait_ids: Sequence[str], change: records.StateChange
) -> bool:
    """`Store.suspend_runs`: the runs (and the waits' runs) locked before the waits are checked."""
    params = {"run_ids": list(run_ids), "wait_ids": list(wait_ids)}
    runs = _locked(conn, "lock_runs_of_waits", params)
    found = conn.execute(QUERIES["wait_states"], {"ids": list(wait_ids)}).fetchall()
    if len(found) < len(set(wait_ids)) or any(r["status"] != WaitStatus.OPEN for r in found):
        return False
    allowed = (RunState.RUNNING, RunState.WAITING)
    for run_id in run_ids:
        run = runs.get(run_id)
        if run is not None and rules.change_allowed(run, allowed, change):
            runs[run_id] = _update_run(conn, run, change)
    return True


def cancel_run(
    conn: Conn, run_id: str, change: records.StateChange
) -> records.RunsCancelled | None:
    """`Store.cancel_run`: the whole tree locked, so no child can join it meanwhile."""
    tree, runs = _lock_tree(conn, run_id)
    if not tree:
        return None
    cancelled: list[records.RunRecord] = []
    for tree_id in tree:
        run = runs[tree_id]
        if not run.state.is_final:
            cancelled.append(_update_run(conn, run, change))
            _wake(conn, "run_cancelled", run.id)
    return records.RunsCancelled(cancelled, _cancel_waits(conn, cancelled, change.at))


def _lock_tree(conn: Conn, run_id: str) -> tuple[list[str], Runs]:
    """The run's tree (breadth first) and its runs, all locked; empty when no such run."""
    runs: Runs = {}
    while True:
        tree = [row["id"] for row in conn.execute(QUERIES["run_tree"], {"id": run_id})]
        missing = [tree_id for tree_id in tree if tree_id not in runs]
        if not missing:
            return tree, runs
        runs.update(_locked(conn, "lock_runs_firmly", {"ids": missing}))


def _cancel_waits(conn: Conn, cancelled: Sequence[records.RunRecord], at: float) -> list[str]:
    if not cancelled:
        return []
    order = {run.id: index for index, run in enumerate(cancelled)}
    params = {"run_ids": list(order), "closed_at": at}
    rows = conn.execute(QUERIES["cancel_open_waits_of_runs"], params).fetchall()
    rows.sort(key=lambda r: (order[r["run_id"]], r["created_at"], r["alt"], r["seq"]))
    for row in rows:
        _wake(conn, "wait_closed", row["run_id"], row["id"])
    return [row["id"] for row in rows]


# -- MessageStore ------------------------------------------------------------------


def send_message(
    conn: Conn, message: records.MessageRecord, resume_as: records.StateChange | None
) -> records.MessageSent:
    """`Store.send_message`, with the receiving run and its ancestors locked."""
    runs = _locked(conn, "lock_run_chain", {"run_id": message.run_id})
    created = conn.execute(QUERIES["insert_message"], mapping.message_params(message)).fetchall()
    if not created:
        return records.MessageSent(_stored_message(conn, message), created=False)
    stored = mapping.message_from_row(created[0])
    receives = conn.execute(QUERIES["open_message_waits_of_run"], {"run_id": message.run_id})
    for wait in [mapping.wait_from_row(row) for row in receives]:
        if rules.message_matches(wait, stored):
            close = rules.message_close(wait, stored, message.sent_at, resume_as)
            closed = _close_open(conn, runs, wait, close)
            received = _stored_message(conn, message)
            return records.MessageSent(received, created=True, closed=closed, step=close.step)
    return records.MessageSent(stored, created=True)


def _stored_message(conn: Conn, message: records.MessageRecord) -> records.MessageRecord:
    where = {"run_id": message.run_id, "key": message.key}
    row = conn.execute(QUERIES["get_message"], where).fetchone()
    if row is None:  # pragma: no cover - the insert conflicted with this very row
        raise errors.StoreError(f"message {message.key!r} of run {message.run_id} vanished")
    return mapping.message_from_row(row)
