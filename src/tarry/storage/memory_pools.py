"""`WorkPoolStore` in memory, and claims within a pool's limits: a mixin of `MemoryStore`."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence

from tarry import errors, interrupts
from tarry.states import RunState
from tarry.storage import claiming, records

__all__ = ["MemoryPools"]

_BUSY_STATES = (RunState.RUNNING, RunState.WAITING)


class MemoryPools:
    """The `WorkPoolStore` methods of `MemoryStore`, and its claim of Pending runs."""

    _lock: interrupts.ShieldedLock
    _runs: dict[str, records.RunRecord]
    _deployments: dict[str, records.DeploymentRecord]

    def _check_open(self) -> None:
        raise NotImplementedError

    def _apply(self, run: records.RunRecord, change: records.StateChange) -> records.RunRecord:
        raise NotImplementedError

    def _pool_tables(
        self,
    ) -> tuple[dict[str, records.WorkPoolRecord], dict[tuple[str, str], records.WorkQueueRecord]]:
        # Made on first use with the default pool and queue, as the SQL migration makes them.
        if not hasattr(self, "_pools"):
            self._pools: dict[str, records.WorkPoolRecord] = {}
            self._queues: dict[tuple[str, str], records.WorkQueueRecord] = {}
            self._put_pool(records.WorkPoolRecord(records.DEFAULT_POOL, 0.0, 0.0))
        return self._pools, self._queues

    def _put_pool(self, pool: records.WorkPoolRecord) -> records.WorkPoolRecord:
        pools, queues = self._pools, self._queues
        known = pools.get(pool.name)
        stored = dataclasses.replace(pool, created_at=known.created_at) if known else pool
        pools[pool.name] = stored
        default = records.WorkQueueRecord(
            pool.name, records.DEFAULT_QUEUE, pool.created_at, pool.created_at
        )
        queues.setdefault((pool.name, records.DEFAULT_QUEUE), default)
        return stored

    def put_work_pool(self, pool: records.WorkPoolRecord) -> records.WorkPoolRecord:
        """See `Store.put_work_pool`."""
        with self._lock:
            self._check_open()
            self._pool_tables()
            return self._put_pool(pool)

    def get_work_pool(self, name: str) -> records.WorkPoolRecord | None:
        """See `Store.get_work_pool`."""
        self._check_open()
        return self._pool_tables()[0].get(name)

    def list_work_pools(self) -> list[records.WorkPoolRecord]:
        """See `Store.list_work_pools`."""
        self._check_open()
        return sorted(self._pool_tables()[0].values(), key=lambda p: p.name)

    def delete_work_pool(self, name: str) -> bool:
        """See `Store.delete_work_pool`."""
        with self._lock:
            self._check_open()
            pools, queues = self._pool_tables()
            for key in [k for k in queues if k[0] == name]:
                del queues[key]
            return pools.pop(name, None) is not None

    def put_work_queue(self, queue: records.WorkQueueRecord) -> records.WorkQueueRecord:
        """See `Store.put_work_queue`."""
        with self._lock:
            self._check_open()
            pools, queues = self._pool_tables()
            if queue.pool not in pools:
                raise errors.WorkPoolNotFound(queue.pool)
            known = queues.get((queue.pool, queue.name))
            stored = dataclasses.replace(queue, created_at=known.created_at) if known else queue
            queues[(queue.pool, queue.name)] = stored
            return stored

    def get_work_queue(self, pool: str, name: str) -> records.WorkQueueRecord | None:
        """See `Store.get_work_queue`."""
        self._check_open()
        return self._pool_tables()[1].get((pool, name))

    def list_work_queues(self, pool: str | None = None) -> list[records.WorkQueueRecord]:
        """See `Store.list_work_queues`."""
        self._check_open()
        found = [q for q in self._pool_tables()[1].values() if pool is None or q.pool == pool]
        return sorted(found, key=lambda q: (q.pool, q.priority, q.name))

    def delete_work_queue(self, pool: str, name: str) -> bool:
        """See `Store.delete_work_queue`."""
        with self._lock:
            self._check_open()
            return self._pool_tables()[1].pop((pool, name), None) is not None

    def queue_counts(self, pool: str) -> dict[str, records.QueueCounts]:
        """See `Store.queue_counts`."""
        self._check_open()
        top = [r for r in self._runs.values() if r.parent_id is None and r.work_pool == pool]
        pending = Counter(r.work_queue for r in top if r.state is RunState.PENDING)
        busy = Counter(r.work_queue for r in top if _holds_slot(r))
        return {
            name: records.QueueCounts(pending[name], busy[name])
            for name in sorted(pending.keys() | busy.keys())
        }

    def _claim_pending(self, claim: claiming.Claim, wanted: int) -> list[records.RunRecord]:
        """Under the lock: claim Pending runs of the pool within its limits (`claiming.pick`)."""
        plan = self._plan(claim)
        if wanted <= 0 or not plan.is_open:
            return []
        picked, _ = claiming.claim_in_rounds(plan, wanted, self._candidates(claim))
        for run_id in picked.cancel:
            run = self._runs[run_id]
            limit = plan.deployment_limits.get(run.deployment or "")
            reason = claiming.cancel_reason(run.deployment, limit)
            self._apply(run, records.StateChange(RunState.CANCELLED, claim.now, reason))
        change = records.StateChange(
            RunState.RUNNING,
            at=claim.now,
            reason="claimed by a worker",
            lease_owner=claim.owner,
            lease_expires_at=claim.lease_expires_at,
        )
        return [self._apply(self._runs[run_id], change) for run_id in picked.claim]

    def _plan(self, claim: claiming.Claim) -> claiming.ClaimPlan:
        pools, queues = self._pool_tables()
        in_pool = [q for q in queues.values() if q.pool == claim.pool]
        plan = claiming.ClaimPlan.of(pools.get(claim.pool), in_pool, claim.queues)
        limits = {
            d.name: claiming.DeploymentLimit(d.concurrency_limit, d.collision_strategy)
            for d in self._deployments.values()
            if d.concurrency_limit is not None and d.work_pool == claim.pool
        }
        busy = [r for r in self._runs.values() if r.parent_id is None and _holds_slot(r)]
        return dataclasses.replace(
            plan,
            deployment_limits=limits,
            busy_by_queue=dict(Counter(r.work_queue for r in busy if r.work_pool == claim.pool)),
            busy_by_deployment=dict(Counter(r.deployment for r in busy if r.deployment in limits)),
        )

    def _candidates(
        self, claim: claiming.Claim
    ) -> Callable[[claiming.ClaimPlan, int, Sequence[str]], list[claiming.Candidate]]:
        def read(
            plan: claiming.ClaimPlan, wanted: int, seen: Sequence[str]
        ) -> list[claiming.Candidate]:
            left_out = {*claim.exclude, *seen}
            full = set(plan.full_deployments())
            pending = sorted(
                (
                    r
                    for r in self._runs.values()
                    if r.state is RunState.PENDING
                    and r.parent_id is None
                    and r.work_pool == claim.pool
                    and r.id not in left_out
                    and r.deployment not in full
                ),
                key=lambda r: r.created_at,
            )
            found: list[claiming.Candidate] = []
            for queue, take in plan.takes(wanted):
                of_queue = [r for r in pending if r.work_queue == queue][:take]
                found += [
                    claiming.Candidate(r.id, r.work_queue, r.deployment, r.created_at)
                    for r in of_queue
                ]
            return found

        return read


def _holds_slot(run: records.RunRecord) -> bool:
    return run.state in _BUSY_STATES and run.lease_owner is not None
