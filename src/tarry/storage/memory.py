"""An in-memory store: a real adapter for unit tests and throw-away runs."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Sequence

from tarry import errors
from tarry.states import RunState
from tarry.storage import base

__all__ = ["MemoryStore"]


class MemoryStore:
    """`Store` kept in this process's memory; gone when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, base.RunRecord] = {}
        self._transitions: dict[str, list[base.TransitionRecord]] = {}
        self._steps: dict[str, dict[str, base.StepRecord]] = {}
        self._logs: dict[str, list[base.LogRecord]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return "MemoryStore()"

    def _check_open(self) -> None:
        if self._closed:
            raise errors.StoreError("the store is closed")

    def migrate(self) -> None:
        """See `Store.migrate`: nothing to do."""
        self._check_open()

    def close(self) -> None:
        """See `Store.close`."""
        self._closed = True

    def insert_run(self, run: base.RunRecord, reason: str = "", *, durable: bool = True) -> bool:
        """See `Store.insert_run`."""
        with self._lock:
            self._check_open()
            if run.id in self._runs:
                return False
            self._runs[run.id] = run
            self._transitions[run.id] = [
                base.TransitionRecord(run.id, None, run.state, run.created_at, reason)
            ]
            return True

    def get_run(self, run_id: str) -> base.RunRecord | None:
        """See `Store.get_run`."""
        self._check_open()
        return self._runs.get(run_id)

    def run_ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """See `Store.run_ids_starting_with`."""
        self._check_open()
        return sorted(run_id for run_id in self._runs if run_id.startswith(prefix))[:limit]

    def transition(
        self, run_id: str, expected: Collection[RunState], change: base.StateChange
    ) -> base.RunRecord | None:
        """See `Store.transition`."""
        with self._lock:
            self._check_open()
            run = self._runs.get(run_id)
            if run is None or not base.change_allowed(run, expected, change):
                return None
            return self._apply(run, change)

    def _apply(self, run: base.RunRecord, change: base.StateChange) -> base.RunRecord:
        new = base.apply_change(run, change)
        self._runs[run.id] = new
        self._transitions[run.id].append(
            base.TransitionRecord(run.id, run.state, new.state, change.at, change.reason)
        )
        return new

    def claim_runs(
        self,
        owner: str,
        lease_expires_at: float,
        now: float,
        dead_owners: Collection[str],
        *,
        limit: int,
        exclude: Collection[str] = (),
    ) -> list[base.RunRecord]:
        """See `Store.claim_runs`."""
        with self._lock:
            self._check_open()
            found = sorted(
                (
                    r
                    for r in self._runs.values()
                    if r.id not in exclude and _claimable(r, now, dead_owners)
                ),
                key=lambda r: r.created_at,
            )[:limit]
            return [
                self._apply(run, _claim_change(run, owner, lease_expires_at, now)) for run in found
            ]

    def lease_owners(self) -> list[str]:
        """See `Store.lease_owners`."""
        self._check_open()
        return sorted(
            {
                r.lease_owner
                for r in self._runs.values()
                if r.state is RunState.RUNNING and r.lease_owner
            }
        )

    def renew_leases(self, owner: str, lease_expires_at: float) -> int:
        """See `Store.renew_leases`."""
        with self._lock:
            self._check_open()
            mine = [
                r
                for r in self._runs.values()
                if r.lease_owner == owner and r.state is RunState.RUNNING
            ]
            for run in mine:
                self._runs[run.id] = dataclasses.replace(run, lease_expires_at=lease_expires_at)
            return len(mine)

    def list_runs(self, where: base.RunFilter) -> list[base.RunRecord]:
        """See `Store.list_runs`."""
        self._check_open()
        runs = [r for r in self._runs.values() if _matches(r, where)]
        runs.sort(key=lambda r: (-r.created_at, r.id))
        return runs[where.offset : where.offset + where.limit]

    def get_transitions(self, run_id: str) -> list[base.TransitionRecord]:
        """See `Store.get_transitions`."""
        self._check_open()
        return list(self._transitions.get(run_id, []))

    def put_step(self, step: base.StepRecord) -> None:
        """See `Store.put_step`."""
        with self._lock:
            self._check_open()
            self._steps.setdefault(step.run_id, {})[step.key] = step

    def get_steps(self, run_id: str) -> list[base.StepRecord]:
        """See `Store.get_steps`."""
        self._check_open()
        steps = self._steps.get(run_id, {}).values()
        return sorted(steps, key=lambda s: base.step_order(s.key))

    def add_logs(self, logs: Sequence[base.LogRecord]) -> None:
        """See `Store.add_logs`."""
        with self._lock:
            for log in logs:
                self._logs.setdefault(log.run_id, []).append(log)

    def get_logs(self, run_id: str, limit: int = 1000) -> list[base.LogRecord]:
        """See `Store.get_logs`."""
        self._check_open()
        return list(self._logs.get(run_id, [])[:limit])


def _claimable(run: base.RunRecord, now: float, dead_owners: Collection[str]) -> bool:
    if run.parent_id is not None:
        return False
    if run.state is RunState.PENDING:
        return True
    expired = run.lease_expires_at is not None and run.lease_expires_at < now
    return run.state is RunState.RUNNING and (expired or run.lease_owner in dead_owners)


def _claim_change(run: base.RunRecord, owner: str, expires: float, now: float) -> base.StateChange:
    reason = (
        "claimed by a worker"
        if run.state is RunState.PENDING
        else f"recovered from {run.lease_owner}, which stopped"
    )
    return base.StateChange(
        RunState.RUNNING, at=now, reason=reason, lease_owner=owner, lease_expires_at=expires
    )


def _matches(run: base.RunRecord, where: base.RunFilter) -> bool:
    if where.states and run.state not in where.states:
        return False
    if where.flow_name is not None and run.flow_name != where.flow_name:
        return False
    return isinstance(where.parent_id, base.Unset) or run.parent_id == where.parent_id
