"""Work pools on both SQL stores: rows, the reads they share, and a claim's plan.

`SqliteStore` and `PostgresStore` inherit `PoolReads`; a claim reads its plan
with `read_plan` inside its own transaction, through the dialect's named queries
(`sql/<dialect>/pools.sql`), which have the same names and columns in both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from typing import Any

from tarry.storage import claiming, records

__all__ = [
    "Execute",
    "PoolReads",
    "candidate_from_row",
    "count_busy",
    "pool_from_row",
    "pool_params",
    "queue_from_row",
    "queue_params",
    "read_plan",
    "read_static_plan",
]

Execute = Callable[[str, dict[str, Any]], Sequence[Any]]
"""Runs a named query with parameters; returns rows that read by column name."""
Array = Callable[[list[str]], Any]
"""How the dialect sends a list of strings (SQLite: JSON text; PostgreSQL: an array)."""


def pool_params(pool: records.WorkPoolRecord) -> dict[str, Any]:
    """Query parameters of a pool."""
    return dataclasses.asdict(pool)


def pool_from_row(row: Any) -> records.WorkPoolRecord:
    """The pool a `work_pools` row holds."""
    fields = {name: row[name] for name in _POOL_FIELDS}
    return records.WorkPoolRecord(**{**fields, "paused": bool(row["paused"])})


def queue_params(queue: records.WorkQueueRecord) -> dict[str, Any]:
    """Query parameters of a queue."""
    return dataclasses.asdict(queue)


def queue_from_row(row: Any) -> records.WorkQueueRecord:
    """The queue a `work_queues` row holds."""
    fields = {name: row[name] for name in _QUEUE_FIELDS}
    return records.WorkQueueRecord(**{**fields, "paused": bool(row["paused"])})


def read_plan(
    execute: Execute, pool: str, served: Collection[str], array: Array
) -> claiming.ClaimPlan:
    """The plan of a claim in `pool` for the `served` queues (all when empty).

    The slots held are counted only when a limit applies; on a shared store the
    caller locks the pool first (see `claiming.ClaimPlan.is_limited`).
    """
    plan = read_static_plan(execute, pool, served)
    if not plan.is_open or not plan.is_limited:
        return plan
    return count_busy(execute, plan, array)


def read_static_plan(execute: Execute, pool: str, served: Collection[str]) -> claiming.ClaimPlan:
    """The pool, its served queues and the deployment limits: what no claim changes."""
    rows = execute("get_work_pool", {"name": pool})
    found = pool_from_row(rows[0]) if rows else None
    queues = [queue_from_row(r) for r in execute("list_work_queues", {"pool": pool})]
    plan = claiming.ClaimPlan.of(found, queues, served)
    limits = {
        row["name"]: claiming.DeploymentLimit(row["concurrency_limit"], row["collision_strategy"])
        for row in execute("deployment_limits", {"pool": pool})
    }
    return dataclasses.replace(plan, deployment_limits=limits)


def count_busy(execute: Execute, plan: claiming.ClaimPlan, array: Array) -> claiming.ClaimPlan:
    """`plan` with the slots its pool's queues and its limited deployments hold now."""
    name = plan.pool.name if plan.pool is not None else records.DEFAULT_POOL
    by_queue = {r["work_queue"]: r["n"] for r in execute("busy_by_queue", {"pool": name})}
    limited = array(sorted(plan.deployment_limits))
    by_deployment = (
        {r["deployment"]: r["n"] for r in execute("busy_by_deployment", {"deployments": limited})}
        if plan.deployment_limits
        else {}
    )
    return dataclasses.replace(plan, busy_by_queue=by_queue, busy_by_deployment=by_deployment)


def candidate_from_row(row: Any) -> claiming.Candidate:
    """A Pending run a claim may take, from its row."""
    return claiming.Candidate(
        row["id"], row["work_queue"], row["deployment"], float(row["created_at"])
    )


class PoolReads:
    """`WorkPoolStore` reads made by one named query each."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def get_work_pool(self, name: str) -> records.WorkPoolRecord | None:
        """See `Store.get_work_pool`."""
        rows = self._read("get_work_pool", {"name": name})
        return pool_from_row(rows[0]) if rows else None

    def list_work_pools(self) -> list[records.WorkPoolRecord]:
        """See `Store.list_work_pools`."""
        return [pool_from_row(row) for row in self._read("list_work_pools", {})]

    def get_work_queue(self, pool: str, name: str) -> records.WorkQueueRecord | None:
        """See `Store.get_work_queue`."""
        rows = self._read("get_work_queue", {"pool": pool, "name": name})
        return queue_from_row(rows[0]) if rows else None

    def list_work_queues(self, pool: str | None = None) -> list[records.WorkQueueRecord]:
        """See `Store.list_work_queues`."""
        return [queue_from_row(row) for row in self._read("list_work_queues", {"pool": pool})]

    def queue_counts(self, pool: str) -> dict[str, records.QueueCounts]:
        """See `Store.queue_counts`."""
        pending = {r["work_queue"]: r["n"] for r in self._read("pending_by_queue", {"pool": pool})}
        busy = {r["work_queue"]: r["n"] for r in self._read("busy_by_queue", {"pool": pool})}
        return {
            name: records.QueueCounts(pending.get(name, 0), busy.get(name, 0))
            for name in sorted(pending.keys() | busy.keys())
        }


_POOL_FIELDS = tuple(f.name for f in dataclasses.fields(records.WorkPoolRecord))
_QUEUE_FIELDS = tuple(f.name for f in dataclasses.fields(records.WorkQueueRecord))
