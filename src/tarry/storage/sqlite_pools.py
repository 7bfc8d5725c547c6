"""`WorkPoolStore` on SQLite, and claims of runs within a pool's limits.

A mixin of `SqliteStore`: writes go through its group commit. A claim is one
write operation, so the single writer sees every slot held: no lock is needed.
`update_run` and `insert_transition` are the run writes every SQLite mixin shares.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tarry import errors
from tarry.states import RunState
from tarry.storage import claiming, pool_sql, records, rules, sqlfiles
from tarry.storage import rows as mapping

__all__ = ["SqlitePools", "claim_in_pool", "insert_transition", "update_run"]

T = TypeVar("T")
_QUERIES = sqlfiles.load_queries("sqlite")


class SqlitePools(pool_sql.PoolReads):
    """The `WorkPoolStore` writes of `SqliteStore`; its reads are `PoolReads`."""

    def _write(self, op: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        raise NotImplementedError

    def put_work_pool(self, pool: records.WorkPoolRecord) -> records.WorkPoolRecord:
        """See `Store.put_work_pool`."""

        def op(conn: sqlite3.Connection) -> records.WorkPoolRecord:
            conn.execute(_QUERIES["put_work_pool"], pool_sql.pool_params(pool))
            default = records.WorkQueueRecord(
                pool.name, records.DEFAULT_QUEUE, pool.created_at, pool.created_at
            )
            conn.execute(_QUERIES["put_default_queue"], pool_sql.queue_params(default))
            row = conn.execute(_QUERIES["get_work_pool"], {"name": pool.name}).fetchone()
            return pool_sql.pool_from_row(row)

        return self._write(op)

    def delete_work_pool(self, name: str) -> bool:
        """See `Store.delete_work_pool`."""

        def op(conn: sqlite3.Connection) -> bool:
            conn.execute(_QUERIES["delete_queues_of_pool"], {"name": name})
            return conn.execute(_QUERIES["delete_work_pool"], {"name": name}).rowcount > 0

        return self._write(op)

    def put_work_queue(self, queue: records.WorkQueueRecord) -> records.WorkQueueRecord:
        """See `Store.put_work_queue`."""
        key = {"pool": queue.pool, "name": queue.name}

        def op(conn: sqlite3.Connection) -> records.WorkQueueRecord:
            if conn.execute(_QUERIES["get_work_pool"], {"name": queue.pool}).fetchone() is None:
                raise errors.WorkPoolNotFound(queue.pool)
            conn.execute(_QUERIES["put_work_queue"], pool_sql.queue_params(queue))
            return pool_sql.queue_from_row(conn.execute(_QUERIES["get_work_queue"], key).fetchone())

        return self._write(op)

    def delete_work_queue(self, pool: str, name: str) -> bool:
        """See `Store.delete_work_queue`."""
        key = {"pool": pool, "name": name}
        return self._write(
            lambda conn: conn.execute(_QUERIES["delete_work_queue"], key).rowcount > 0
        )


def claim_in_pool(conn: sqlite3.Connection, claim: claiming.Claim) -> list[records.RunRecord]:
    """Runs taken over from stopped holders, then Pending runs by priority within the limits."""
    claimed = _recover(conn, claim) if claim.recover else []
    plan = pool_sql.read_plan(_executor(conn), claim.pool, claim.queues, json.dumps)
    wanted = claim.limit - len(claimed)
    if wanted <= 0 or not plan.is_open:
        return claimed
    picked, _ = claiming.claim_in_rounds(plan, wanted, _candidates(conn, claim))
    for run_id in picked.cancel:
        run = _run(conn, run_id)
        limit = plan.deployment_limits.get(run.deployment or "")
        change = records.StateChange(
            RunState.CANCELLED, claim.now, claiming.cancel_reason(run.deployment, limit)
        )
        update_run(conn, run, change)
    return claimed + [_claim(conn, _run(conn, run_id), claim) for run_id in picked.claim]


def _recover(conn: sqlite3.Connection, claim: claiming.Claim) -> list[records.RunRecord]:
    params = {
        "pool": claim.pool,
        "any_queue": not claim.queues,
        "queues": json.dumps(list(claim.queues)),
        "exclude": json.dumps(list(claim.exclude)),
        "expired_before": claim.expired_before,
        "dead_owners": json.dumps(list(claim.gone)),
        "limit": claim.limit,
    }
    rows = conn.execute(_QUERIES["recoverable_runs"], params).fetchall()
    return [_claim(conn, mapping.run_from_row(row), claim) for row in rows]


def _candidates(
    conn: sqlite3.Connection, claim: claiming.Claim
) -> Callable[[claiming.ClaimPlan, int, Sequence[str]], list[claiming.Candidate]]:
    def read(
        plan: claiming.ClaimPlan, wanted: int, seen: Sequence[str]
    ) -> list[claiming.Candidate]:
        params: dict[str, Any] = {
            "pool": claim.pool,
            "exclude": json.dumps([*claim.exclude, *seen]),
            "full": json.dumps(plan.full_deployments()),
        }
        found: list[claiming.Candidate] = []
        for queue, take in plan.takes(wanted):
            rows = conn.execute(
                _QUERIES["pending_of_queue"], {**params, "queue": queue, "limit": take}
            )
            found += [pool_sql.candidate_from_row(row) for row in rows]
        return found

    return read


def _executor(conn: sqlite3.Connection) -> pool_sql.Execute:
    return lambda name, params: conn.execute(_QUERIES[name], params).fetchall()


def _run(conn: sqlite3.Connection, run_id: str) -> records.RunRecord:
    return mapping.run_from_row(conn.execute(_QUERIES["get_run"], {"id": run_id}).fetchone())


def _claim(
    conn: sqlite3.Connection, run: records.RunRecord, claim: claiming.Claim
) -> records.RunRecord:
    reason = (
        "claimed by a worker"
        if run.state is RunState.PENDING
        else f"recovered from {run.lease_owner}, which stopped"
    )
    change = records.StateChange(
        RunState.RUNNING,
        at=claim.now,
        reason=reason,
        lease_owner=claim.owner,
        lease_expires_at=claim.lease_expires_at,
    )
    return update_run(conn, run, change)


def update_run(
    conn: sqlite3.Connection, run: records.RunRecord, change: records.StateChange
) -> records.RunRecord:
    """Write `change` to `run` (already checked as allowed) and its transition row."""
    new = rules.apply_change(run, change)
    params = mapping.run_params(new)
    params["expected_state"] = run.state.value
    conn.execute(_QUERIES["update_run"], params)
    insert_transition(
        conn, records.TransitionRecord(run.id, run.state, new.state, change.at, change.reason)
    )
    return new


def insert_transition(conn: sqlite3.Connection, transition: records.TransitionRecord) -> None:
    """Write one transition row."""
    conn.execute(_QUERIES["insert_transition"], mapping.transition_params(transition))
