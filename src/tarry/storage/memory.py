"""An in-memory store: a real adapter for unit tests and throw-away runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from tarry import errors, interrupts
from tarry.states import DeliveryStatus, RunState, WaitKind, WaitStatus
from tarry.storage import (
    claiming,
    memory_automations,
    memory_cache,
    memory_events,
    memory_limits,
    memory_pools,
    memory_schedules,
    memory_webhooks,
    outbox,
    port,
    records,
    rules,
    wakeups,
)

__all__ = ["MemoryStore"]


class MemoryStore(
    memory_schedules.MemorySchedules,
    memory_pools.MemoryPools,
    memory_limits.MemoryLimits,
    memory_cache.MemoryCache,
    memory_events.MemoryEvents,
    memory_automations.MemoryAutomations,
    memory_webhooks.MemoryWebhooks,
    wakeups.Unpushed,
):
    """`Store` kept in this process's memory; gone when the process ends."""

    def __init__(self) -> None:
        self._lock = interrupts.ShieldedLock()
        self._runs: dict[str, records.RunRecord] = {}
        self._transitions: dict[str, list[records.TransitionRecord]] = {}
        self._steps: dict[str, dict[str, records.StepRecord]] = {}
        self._logs: dict[str, list[records.LogRecord]] = {}
        self._waits: dict[str, records.WaitRecord] = {}
        self._early: list[records.EarlyInput] = []
        self._deployments: dict[str, records.DeploymentRecord] = {}
        self._messages: list[records.MessageRecord] = []
        self._variables: dict[str, str] = {}
        self._outbox: dict[str, outbox.OutboxItem] = {}
        self._claims: dict[int, tuple[str, float]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return "MemoryStore()"

    def _check_open(self) -> None:
        if self._closed:
            raise errors.StoreError("the store is closed")

    # -- lifecycle --------------------------------------------------------------

    def migrate(self) -> None:
        """See `Store.migrate`: nothing to do."""
        self._check_open()

    def close(self) -> None:
        """See `Store.close`."""
        self._closed = True

    # -- RunStore ---------------------------------------------------------------

    def insert_run(self, run: records.RunRecord, reason: str = "", *, durable: bool = True) -> bool:
        """See `Store.insert_run`."""
        with self._lock:
            self._check_open()
            if run.id in self._runs:
                return False
            self._runs[run.id] = run
            first = records.TransitionRecord(run.id, None, run.state, run.created_at, reason)
            self._record_transition(run, first)
            return True

    def get_run(self, run_id: str) -> records.RunRecord | None:
        """See `Store.get_run`."""
        self._check_open()
        return self._runs.get(run_id)

    def run_states(self, run_ids: Sequence[str]) -> dict[str, RunState]:
        """See `Store.run_states`."""
        self._check_open()
        return {i: self._runs[i].state for i in run_ids if i in self._runs}

    def run_ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """See `Store.run_ids_starting_with`."""
        self._check_open()
        return sorted(run_id for run_id in self._runs if run_id.startswith(prefix))[:limit]

    def list_runs(self, where: records.RunFilter) -> list[records.RunRecord]:
        """See `Store.list_runs`."""
        self._check_open()
        runs = [r for r in self._runs.values() if _matches(r, where)]
        runs.sort(key=lambda r: (-r.created_at, r.id))
        return runs[where.offset : where.offset + where.limit]

    def get_transitions(self, run_id: str) -> list[records.TransitionRecord]:
        """See `Store.get_transitions`."""
        self._check_open()
        return list(self._transitions.get(run_id, []))

    def transition(
        self, run_id: str, expected: Collection[RunState], change: records.StateChange
    ) -> records.RunRecord | None:
        """See `Store.transition`."""
        with self._lock:
            self._check_open()
            run = self._runs.get(run_id)
            if run is None or not rules.change_allowed(run, expected, change):
                return None
            return self._apply(run, change)

    def _apply(self, run: records.RunRecord, change: records.StateChange) -> records.RunRecord:
        new = rules.apply_change(run, change)
        self._runs[run.id] = new
        self._record_transition(
            new, records.TransitionRecord(run.id, run.state, new.state, change.at, change.reason)
        )
        return new

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
        with self._lock:
            self._check_open()
            found = sorted(
                (
                    r
                    for r in self._runs.values()
                    if r.id not in exclude
                    and r.work_pool == pool
                    and (not queues or r.work_queue in queues)
                    and _recoverable(r, claim.expired_before, claim.gone)
                ),
                key=lambda r: r.created_at,
            )[:limit]
            recovered = [
                self._apply(run, _recovered_change(run, owner, lease_expires_at, now))
                for run in found
            ]
            return recovered + self._claim_pending(claim, limit - len(recovered))

    def lease_owners(self) -> list[str]:
        """See `Store.lease_owners`."""
        self._check_open()
        return sorted(
            {
                r.lease_owner
                for r in self._runs.values()
                if r.state in (RunState.RUNNING, RunState.WAITING) and r.lease_owner
            }
        )

    def renew_leases(self, owner: str, lease_expires_at: float) -> int:
        """See `Store.renew_leases`."""
        with self._lock:
            self._check_open()
            mine = [
                r
                for r in self._runs.values()
                if r.lease_owner == owner and r.state in (RunState.RUNNING, RunState.WAITING)
            ]
            for run in mine:
                self._runs[run.id] = dataclasses.replace(run, lease_expires_at=lease_expires_at)
            return len(mine)

    # -- JournalStore -----------------------------------------------------------

    def put_step(self, step: records.StepRecord, *, owner: str | None = None) -> bool:
        """See `Store.put_step`."""
        with self._lock:
            self._check_open()
            run = self._runs.get(step.run_id)
            if owner is not None and (run is None or run.lease_owner != owner):
                return False
            self._steps.setdefault(step.run_id, {})[step.key] = step
            return True

    def get_steps(self, run_id: str) -> list[records.StepRecord]:
        """See `Store.get_steps`."""
        self._check_open()
        steps = self._steps.get(run_id, {}).values()
        return sorted(steps, key=lambda s: rules.step_order(s.key))

    def get_step(self, run_id: str, key: str) -> records.StepRecord | None:
        """See `Store.get_step`."""
        self._check_open()
        return self._steps.get(run_id, {}).get(key)

    def add_logs(self, logs: Sequence[records.LogRecord]) -> None:
        """See `Store.add_logs`."""
        with self._lock:
            for log in logs:
                self._logs.setdefault(log.run_id, []).append(log)

    def get_logs(self, run_id: str, limit: int = 1000) -> list[records.LogRecord]:
        """See `Store.get_logs`."""
        self._check_open()
        return list(self._logs.get(run_id, [])[:limit])

    # -- WaitStore --------------------------------------------------------------

    def _step_waits(self, wait: records.WaitRecord) -> list[records.WaitRecord]:
        same = (wait.run_id, wait.step_key, wait.attempt)
        found = [w for w in self._waits.values() if (w.run_id, w.step_key, w.attempt) == same]
        return sorted(found, key=lambda w: w.alt)

    def open_waits(
        self, waits: Sequence[records.WaitRecord], change: records.StateChange
    ) -> list[records.WaitRecord]:
        """See `Store.open_waits`."""
        with self._lock:
            self._check_open()
            for wait in waits:
                self._add_wait(wait)
            stored = self._step_waits(waits[0])
            if any(w.status is not WaitStatus.OPEN for w in stored):
                return stored
            if self._deliver_pending(stored, change.at):
                return self._step_waits(waits[0])
            run = self._runs.get(waits[0].run_id)
            if run is not None and rules.change_allowed(run, (RunState.RUNNING,), change):
                self._apply(run, change)
            return stored

    def _deliver_pending(self, waits: Sequence[records.WaitRecord], at: float) -> bool:
        receives = [w for w in waits if w.kind is WaitKind.MESSAGE]
        pending = [m for m in self._messages if receives and m.run_id == receives[0].run_id]
        for message in (m for m in pending if m.status == "pending"):
            for wait in receives:
                if rules.message_matches(wait, message):
                    self._close_locked(rules.message_close(wait, message, at))
                    return True
        return False

    def close_wait(self, close: records.WaitClose) -> records.WaitClosed | None:
        """See `Store.close_wait`."""
        with self._lock:
            self._check_open()
            return self._close_locked(close)

    def _close_locked(self, close: records.WaitClose) -> records.WaitClosed | None:
        wait = self._waits.get(close.wait_id)
        if wait is None or wait.status is not WaitStatus.OPEN:
            return None if wait is None else records.WaitClosed(won=False, wait=wait)
        for other in self._step_waits(wait):
            if other.id != wait.id and other.status is WaitStatus.OPEN:
                self._set_wait(
                    dataclasses.replace(other, status=WaitStatus.CANCELLED, closed_at=close.at)
                )
        self._close(wait, close)
        return rules.wait_closed(wait, close, self._wake_root(wait, close))

    def _close(self, wait: records.WaitRecord, close: records.WaitClose) -> None:
        self._set_wait(rules.closed_by(wait, close))
        self._steps.setdefault(close.step.run_id, {})[close.step.key] = close.step
        self._early = [
            dataclasses.replace(e, status="consumed") if e.id == close.early_input_id else e
            for e in self._early
        ]
        if close.message_id is not None:
            self._messages = [
                dataclasses.replace(
                    m, status="received", received_at=close.at, received_step_key=wait.step_key
                )
                if m.id == close.message_id and m.status == "pending"
                else m
                for m in self._messages
            ]

    def _wake_root(
        self, wait: records.WaitRecord, close: records.WaitClose
    ) -> records.RunRecord | None:
        found = rules.run_to_wake(self._runs, wait.run_id)
        if found is None:
            return None
        run, is_root = found
        if not is_root:
            self._apply(run, rules.resumed_change(close))
            return None
        return self._apply(run, rules.woken_root_change(close))

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
        with self._lock:
            self._check_open()
            waits = [self._waits.get(wait_id) for wait_id in wait_ids]
            if any(w is None or w.status is not WaitStatus.OPEN for w in waits):
                return False
            change = rules.suspend_change(owner, at, reason)
            for run_id in run_ids:
                run = self._runs.get(run_id)
                allowed = (RunState.RUNNING, RunState.WAITING)
                if run is not None and rules.change_allowed(run, allowed, change):
                    self._apply(run, change)
            return True

    def cancel_run(self, run_id: str, at: float, reason: str) -> records.RunsCancelled | None:
        """See `Store.cancel_run`."""
        with self._lock:
            self._check_open()
            if run_id not in self._runs:
                return None
            change = rules.cancel_change(at, reason)
            tree = [r for r in self._tree(run_id) if not r.state.is_final]
            cancelled = [self._apply(run, change) for run in tree]
            ids = {run.id for run in cancelled}
            closing = [
                w for w in self._waits.values() if w.run_id in ids and w.status is WaitStatus.OPEN
            ]
            for wait in closing:
                self._set_wait(dataclasses.replace(wait, status=WaitStatus.CANCELLED, closed_at=at))
            return records.RunsCancelled(cancelled, [w.id for w in closing])

    def _tree(self, run_id: str) -> list[records.RunRecord]:
        found, index = [self._runs[run_id]], 0
        while index < len(found):
            parent_id, index = found[index].id, index + 1
            found += [r for r in self._runs.values() if r.parent_id == parent_id]
        return found

    def get_wait(self, wait_id: str) -> records.WaitRecord | None:
        """See `Store.get_wait`."""
        self._check_open()
        return self._waits.get(wait_id)

    def waits_of_run(self, run_id: str) -> list[records.WaitRecord]:
        """See `Store.waits_of_run`."""
        self._check_open()
        found = [w for w in self._waits.values() if w.run_id == run_id]
        # Stable: waits opened at the same moment stay in the order they were stored.
        return sorted(found, key=lambda w: w.created_at)

    def open_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[records.WaitRecord]:
        """See `Store.open_inputs`."""
        self._check_open()
        found = [
            w
            for w in self._waits.values()
            if w.status is WaitStatus.OPEN
            and w.kind.value == "input"
            and run_id in (None, w.run_id)
        ]
        found.sort(key=lambda w: (w.created_at, w.id))
        return found[offset : offset + limit]

    def due_waits(self, now: float, limit: int) -> list[records.WaitRecord]:
        """See `Store.due_waits`."""
        self._check_open()
        due = [
            w
            for w in self._waits.values()
            if w.status is WaitStatus.OPEN and w.deadline is not None and w.deadline <= now
        ]
        return sorted(due, key=lambda w: w.deadline or 0.0)[:limit]

    def closed_waits_since(self, since: float) -> list[tuple[str, str, float]]:
        """See `Store.closed_waits_since`."""
        self._check_open()
        closed = [
            (w.id, w.run_id, w.closed_at)
            for w in self._waits.values()
            if w.closed_at is not None and w.closed_at >= since
        ]
        return sorted(closed, key=lambda c: c[2])

    # -- EarlyInputStore --------------------------------------------------------

    def add_early_input(self, early: records.EarlyInput) -> int:
        """See `Store.add_early_input`."""
        with self._lock:
            self._check_open()
            early_id = len(self._early) + 1
            self._early.append(
                dataclasses.replace(early, id=early_id, status="pending", detail=None)
            )
            return early_id

    def pending_early_inputs(self, run_id: str, name: str) -> list[records.EarlyInput]:
        """See `Store.pending_early_inputs`."""
        self._check_open()
        return [e for e in self._early if (e.run_id, e.name, e.status) == (run_id, name, "pending")]

    def reject_early_input(self, early_id: int, detail: str) -> None:
        """See `Store.reject_early_input`."""
        with self._lock:
            self._check_open()
            self._early = [
                dataclasses.replace(e, status="rejected", detail=detail)
                if e.id == early_id and e.status == "pending"
                else e
                for e in self._early
            ]

    # -- MessageStore -----------------------------------------------------------

    def send_message(
        self, message: records.MessageRecord, resume_as: records.StateChange | None = None
    ) -> records.MessageSent:
        """See `Store.send_message`."""
        with self._lock:
            self._check_open()
            for known in self._messages:
                if (known.run_id, known.key) == (message.run_id, message.key):
                    return records.MessageSent(known, created=False)
            stored = dataclasses.replace(message, id=len(self._messages) + 1, status="pending")
            self._add_message(stored)
            for wait in self._open_receives(stored.run_id):
                if rules.message_matches(wait, stored):
                    close = rules.message_close(wait, stored, stored.sent_at, resume_as)
                    closed = self._close_locked(close)
                    return records.MessageSent(self._messages[-1], True, closed, close.step)
            return records.MessageSent(stored, created=True)

    def _open_receives(self, run_id: str) -> list[records.WaitRecord]:
        found = [
            w
            for w in self._waits.values()
            if w.run_id == run_id and w.kind is WaitKind.MESSAGE and w.status is WaitStatus.OPEN
        ]
        return sorted(found, key=lambda w: (w.created_at, w.alt))

    def messages_of_run(
        self, run_id: str, *, sent: bool = False, limit: int = 200
    ) -> list[records.MessageRecord]:
        """See `Store.messages_of_run`."""
        self._check_open()
        found = [m for m in self._messages if (m.sender_run_id if sent else m.run_id) == run_id]
        return found[:limit]

    def message_with_key(self, run_id: str, key: str) -> records.MessageRecord | None:
        """See `Store.message_with_key`."""
        self._check_open()
        return next((m for m in self._messages if (m.run_id, m.key) == (run_id, key)), None)

    # -- CatalogStore -----------------------------------------------------------

    def put_deployment(self, deployment: records.DeploymentRecord) -> records.DeploymentRecord:
        """See `Store.put_deployment`."""
        with self._lock:
            self._check_open()
            known = self._deployments.get(deployment.name)
            if known is not None:
                deployment = dataclasses.replace(deployment, created_at=known.created_at)
            self._deployments[deployment.name] = deployment
            return deployment

    def get_deployment(self, name: str) -> records.DeploymentRecord | None:
        """See `Store.get_deployment`."""
        self._check_open()
        return self._deployments.get(name)

    def list_deployments(self, limit: int = 50, offset: int = 0) -> list[records.DeploymentRecord]:
        """See `Store.list_deployments`."""
        self._check_open()
        return sorted(self._deployments.values(), key=lambda d: d.name)[offset : offset + limit]

    def get_variable(self, name: str) -> str | None:
        """See `Store.get_variable`."""
        self._check_open()
        return self._variables.get(name)

    def set_variable(self, name: str, value: str, at: float, *, overwrite: bool) -> bool:
        """See `Store.set_variable`."""
        del at
        with self._lock:
            self._check_open()
            if name in self._variables and not overwrite:
                return False
            self._variables[name] = value
            return True

    # -- OutboxStore ------------------------------------------------------------

    def queue_outbox(self, items: Sequence[outbox.OutboxItem]) -> int:
        """See `OutboxStore.queue_outbox`."""
        with self._lock:
            self._check_open()
            new = [item for item in items if item.key not in self._outbox]
            for item in new:
                self._outbox[item.key] = dataclasses.replace(item, id=len(self._outbox) + 1)
            return len(new)

    def claim_outbox(
        self, owner: str, now: float, until: float, limit: int
    ) -> list[outbox.OutboxItem]:
        """See `OutboxStore.claim_outbox`."""
        with self._lock:
            self._check_open()
            due = [item for item in self._outbox.values() if self._claimable(item, owner, now)]
            chosen = sorted(due, key=lambda i: (i.due_at, i.id))[:limit]
            for item in chosen:
                self._claims[item.id or 0] = (owner, until)
            return chosen

    def _claimable(self, item: outbox.OutboxItem, owner: str, now: float) -> bool:
        holder, until = self._claims.get(item.id or 0, (owner, now))
        free = holder == owner or until < now
        return item.status is DeliveryStatus.PENDING and item.due_at <= now and free

    def settle_outbox(self, outcomes: Sequence[tuple[int, outbox.Settlement]]) -> None:
        """See `OutboxStore.settle_outbox`."""
        by_id = dict(outcomes)
        with self._lock:
            self._check_open()
            for key, item in self._outbox.items():
                if item.id in by_id:
                    self._outbox[key] = outbox.settled(item, by_id[item.id])
                    self._claims.pop(item.id, None)

    def outbox_of_run(self, run_id: str) -> list[outbox.OutboxItem]:
        """See `OutboxStore.outbox_of_run`."""
        self._check_open()
        return [item for item in self._outbox.values() if item.run_id == run_id]

    def next_outbox_due(self) -> float | None:
        """See `OutboxStore.next_outbox_due`."""
        self._check_open()
        pending = self._outbox.values()
        return min((i.due_at for i in pending if i.status is DeliveryStatus.PENDING), default=None)

    # -- Wakeups ----------------------------------------------------------------
    # listen, serves_timers, hold_owner, gone_owners: `wakeups.Unpushed` (it cannot push).


def _matches(run: records.RunRecord, where: records.RunFilter) -> bool:
    if where.states and run.state not in where.states:
        return False
    if where.flow_name is not None and run.flow_name != where.flow_name:
        return False
    if where.name is not None and run.name != where.name:
        return False
    if where.deployment is not None and run.deployment != where.deployment:
        return False
    return isinstance(where.parent_id, records.Unset) or run.parent_id == where.parent_id


def _recoverable(run: records.RunRecord, now: float, dead_owners: Collection[str]) -> bool:
    if run.parent_id is not None:
        return False
    expired = run.lease_expires_at is not None and run.lease_expires_at < now
    leased = run.state in (RunState.RUNNING, RunState.WAITING) and run.lease_owner is not None
    return leased and (expired or run.lease_owner in dead_owners)


def _recovered_change(
    run: records.RunRecord, owner: str, expires: float, now: float
) -> records.StateChange:
    return records.StateChange(
        RunState.RUNNING,
        at=now,
        reason=f"recovered from {run.lease_owner}, which stopped",
        lease_owner=owner,
        lease_expires_at=expires,
    )


# mypy checks here that the adapter is a whole `Store`; at run time it is one assignment.
_CONFORMS: type[port.Store] = MemoryStore
