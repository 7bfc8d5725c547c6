"""`WorkPoolStore` on PostgreSQL, and claims of runs within a pool's limits.

A mixin of `PostgresStore`. Any number of workers on any number of hosts claim
at once: Pending runs are locked `SKIP LOCKED`, so none waits for another's. When
a limit applies to the pool (its own, a queue's or a deployment's), a claim also
locks the pool's row until it commits, so the slots are counted by one claim at a
time and no limit is ever exceeded; claims in other pools go on meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow

from tarry import errors
from tarry.storage import claiming, pool_sql, records, sqlfiles
from tarry.storage import rows as mapping

__all__ = ["PostgresPools", "claim_in_pool"]

T = TypeVar("T")
Conn = psycopg.Connection[DictRow]
_QUERIES = sqlfiles.load_queries("postgres")


class PostgresPools(pool_sql.PoolReads):
    """The `WorkPoolStore` writes of `PostgresStore`; its reads are `PoolReads`."""

    def _transaction(self, op: Callable[[Conn], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def _returning(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        raise NotImplementedError

    def put_work_pool(self, pool: records.WorkPoolRecord) -> records.WorkPoolRecord:
        """See `Store.put_work_pool`."""

        def op(conn: Conn) -> records.WorkPoolRecord:
            conn.execute(_QUERIES["put_work_pool"], pool_sql.pool_params(pool))
            default = records.WorkQueueRecord(
                pool.name, records.DEFAULT_QUEUE, pool.created_at, pool.created_at
            )
            conn.execute(_QUERIES["put_default_queue"], pool_sql.queue_params(default))
            row = conn.execute(_QUERIES["get_work_pool"], {"name": pool.name}).fetchone()
            return pool_sql.pool_from_row(row)

        return self._transaction(op)

    def delete_work_pool(self, name: str) -> bool:
        """See `Store.delete_work_pool`."""
        return bool(self._returning("delete_work_pool", {"name": name}))

    def put_work_queue(self, queue: records.WorkQueueRecord) -> records.WorkQueueRecord:
        """See `Store.put_work_queue`."""
        key = {"pool": queue.pool, "name": queue.name}

        def op(conn: Conn) -> records.WorkQueueRecord:
            if conn.execute(_QUERIES["get_work_pool"], {"name": queue.pool}).fetchone() is None:
                raise errors.WorkPoolNotFound(queue.pool)
            conn.execute(_QUERIES["put_work_queue"], pool_sql.queue_params(queue))
            return pool_sql.queue_from_row(conn.execute(_QUERIES["get_work_queue"], key).fetchone())

        return self._transaction(op)

    def delete_work_queue(self, pool: str, name: str) -> bool:
        """See `Store.delete_work_queue`."""
        return bool(self._returning("delete_work_queue", {"pool": pool, "name": name}))


Claimed = list[records.RunRecord]
Transaction = Callable[[Callable[[Conn], Claimed]], Claimed]


def claim_in_pool(conn: Conn, claim: claiming.Claim, in_transaction: Transaction) -> Claimed:
    """Runs taken over from stopped holders first, then Pending runs by priority within the limits.

    Without limits: one statement (after one read of the plan). Under queue and pool
    limits: the pool's row locked, then one statement that counts the slots held and
    claims, sent together. Under deployment limits: `claiming.claim_in_rounds` picks,
    in one transaction that holds the pool's row.
    """
    plan = _read_plan(conn, claim)
    if not plan.is_open:
        return _claim(conn, claim, plan, scan=False) if claim.recover else []
    if plan.deployment_limits:
        return in_transaction(lambda tx: _claim_in_rounds(tx, claim, plan))
    if plan.is_limited:
        return in_transaction(lambda tx: _claim_counted(tx, claim, plan))
    return _claim(conn, claim, plan)


def _claim_counted(conn: Conn, claim: claiming.Claim, plan: claiming.ClaimPlan) -> Claimed:
    conn.execute(_QUERIES["lock_work_pool"], {"name": claim.pool})
    return _claim(conn, claim, plan, counted=True)


def _claim_in_rounds(conn: Conn, claim: claiming.Claim, plan: claiming.ClaimPlan) -> Claimed:
    conn.execute(_QUERIES["lock_work_pool"], {"name": claim.pool})
    plan = pool_sql.count_busy(_executor(conn), plan, list)
    picked, _ = claiming.claim_in_rounds(plan, claim.limit, _candidates(conn, claim))
    if picked.cancel:
        _cancel(conn, plan, picked.cancel, claim.now)
    if not picked.claim and not claim.recover:
        return []
    return _claim(conn, claim, plan, scan=False, pending_ids=picked.claim)


def _read_plan(conn: Conn, claim: claiming.Claim) -> claiming.ClaimPlan:
    row = conn.execute(_QUERIES["claim_plan"], {"name": claim.pool}).fetchone()
    if row is None:
        return claiming.ClaimPlan(None, [])
    queues = [pool_sql.queue_from_row(q) for q in row["queues"]]
    plan = claiming.ClaimPlan.of(pool_sql.pool_from_row(row), queues, claim.queues)
    limits = {
        d["name"]: claiming.DeploymentLimit(d["concurrency_limit"], d["collision_strategy"])
        for d in row["limits"]
    }
    return dataclasses.replace(plan, deployment_limits=limits)


def _claim(
    conn: Conn,
    claim: claiming.Claim,
    plan: claiming.ClaimPlan,
    *,
    scan: bool = True,
    counted: bool = False,
    pending_ids: Sequence[str] = (),
) -> Claimed:
    queues = plan.queues if scan else ()
    pool_limit = plan.pool.concurrency_limit if plan.pool is not None and counted else None
    params = {
        "pending_ids": list(pending_ids),
        "counted": counted,
        "scan_queues": [q.name for q in queues],
        "scan_takes": [claim.limit] * len(queues),
        "scan_limits": [q.concurrency_limit if counted else None for q in queues],
        "pool_limit": pool_limit,
        "expired_before": claim.expired_before,
        "dead_owners": list(claim.gone),
        "exclude": list(claim.exclude),
        "limit": claim.limit,
        "recover": claim.recover,
        "pool": claim.pool,
        "any_queue": not claim.queues,
        "queues": list(claim.queues),
        "owner": claim.owner,
        "lease_expires_at": claim.lease_expires_at,
        "now": claim.now,
        # The reasons the other adapters give (`format` fills in the holder).
        "claimed_reason": "claimed by a worker",
        "recovered_reason": "recovered from %s, which stopped",
    }
    return [mapping.run_from_row(row) for row in conn.execute(_QUERIES["claim_runs"], params)]


def _candidates(
    conn: Conn, claim: claiming.Claim
) -> Callable[[claiming.ClaimPlan, int, Sequence[str]], list[claiming.Candidate]]:
    def read(
        plan: claiming.ClaimPlan, wanted: int, seen: Sequence[str]
    ) -> list[claiming.Candidate]:
        takes = plan.takes(wanted)
        if not takes:
            return []
        params: dict[str, Any] = {
            "pool": claim.pool,
            "queues": [name for name, _ in takes],
            "takes": [take for _, take in takes],
            "exclude": [*claim.exclude, *seen],
            "full": plan.full_deployments(),
        }
        rows = conn.execute(_QUERIES["pending_of_queue"], params).fetchall()
        return [pool_sql.candidate_from_row(row) for row in rows]

    return read


def _cancel(conn: Conn, plan: claiming.ClaimPlan, run_ids: Sequence[str], at: float) -> None:
    # Grouped by deployment: each gets the reason that names its own limit.
    rows = conn.execute(_QUERIES["lock_runs"], {"ids": sorted(run_ids)}).fetchall()
    by_deployment: dict[str | None, list[str]] = {}
    for row in rows:
        by_deployment.setdefault(row["deployment"], []).append(row["id"])
    for deployment, ids in by_deployment.items():
        limit = plan.deployment_limits.get(deployment or "")
        reason = claiming.cancel_reason(deployment, limit)
        conn.execute(_QUERIES["cancel_pending_runs"], {"ids": ids, "reason": reason, "at": at})


def _executor(conn: Conn) -> pool_sql.Execute:
    return lambda name, params: conn.execute(_QUERIES[name], params).fetchall()
