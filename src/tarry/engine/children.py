"""Child runs: a flow called inside a flow, journaled in its parent like a step.

The child's run id comes from its parent's journal position, so a replayed parent
finds the same child (finished, or to re-enter) instead of starting another.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tarry import errors, host, serialization
from tarry.engine import context, runs, steps
from tarry.states import RunState, StepKind
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.engine import spec

__all__ = ["call_child", "call_child_async", "child_run_id"]

_CHILD_NAMESPACE = uuid.UUID("6f0c52a2-31a4-4c36-9d7e-8d0d8a4e1c55")
_REENTERABLE = (RunState.RUNNING, RunState.PENDING, RunState.WAITING)


def child_run_id(parent_id: str, step_key: str, attempt: int) -> str:
    """The id of the child run started at `step_key`: the same on every replay."""
    return str(uuid.uuid5(_CHILD_NAMESPACE, f"{parent_id}/{step_key}/{attempt}"))


def call_child(
    parent: context.RunContext, flow: spec.FlowSpec[Any, Any], params: dict[str, Any]
) -> Any:
    """Run `flow` as a child of `parent` at its next journal position, and return its result.

    A replayed parent gets the recorded outcome, or re-enters the child where it was.
    """
    call = _prepare_child(parent, flow, params)
    if isinstance(call, records.StepRecord):
        return steps.replay(call)
    try:
        value = _run_child(call)
    except Exception as exc:
        call.save(call.step(exc, failed=True))
        raise
    call.save(call.step(value, failed=False))
    return value


async def call_child_async(
    parent: context.RunContext, flow: spec.FlowSpec[Any, Any], params: dict[str, Any]
) -> Any:
    """Async version of `call_child`."""
    call = _prepare_child(parent, flow, params)
    if isinstance(call, records.StepRecord):
        return steps.replay(call)
    try:
        value = await _run_child_async(call)
    except Exception as exc:
        await steps.offload(call.save, call.step(exc, failed=True))
        raise
    await steps.offload(call.save, call.step(value, failed=False))
    return value


def _run_child(call: _ChildCall) -> Any:
    hst = call.parent.host
    existing = hst.store.get_run(call.child_id)
    plan = call.plan(existing)
    if not isinstance(plan, records.RunRecord):
        return plan()
    if existing is None:
        hst.store.insert_run(plan, reason=call.started_reason, durable=False)
        return runs.execute_run(hst, call.flow, plan, call.params, parent=call.parent)
    reentered = hst.store.transition(call.child_id, _REENTERABLE, _reenter(hst))
    if reentered is None:
        raise errors.RunAborted(call.child_id, "the child run changed state while re-entering it")
    return runs.execute_run(hst, call.flow, reentered, parent=call.parent)


async def _run_child_async(call: _ChildCall) -> Any:
    hst = call.parent.host
    existing = await steps.offload(hst.store.get_run, call.child_id)
    plan = call.plan(existing)
    if not isinstance(plan, records.RunRecord):
        return plan()
    if existing is None:
        await steps.offload(hst.store.insert_run, plan, call.started_reason, durable=False)
        return await runs.execute_run_async(hst, call.flow, plan, call.params, parent=call.parent)
    reentered = await steps.offload(
        hst.store.transition, call.child_id, _REENTERABLE, _reenter(hst)
    )
    if reentered is None:
        raise errors.RunAborted(call.child_id, "the child run changed state while re-entering it")
    return await runs.execute_run_async(hst, call.flow, reentered, parent=call.parent)


@dataclasses.dataclass
class _ChildCall:
    """A child flow called at one position of its parent's journal."""

    parent: context.RunContext
    flow: spec.FlowSpec[Any, Any]
    params: dict[str, Any]
    key: str
    digest: str
    child_id: str
    started: float = dataclasses.field(default_factory=time.time)

    @property
    def started_reason(self) -> str:
        return f"started by run {self.parent.run.id} at step {self.key}"

    def plan(self, existing: records.RunRecord | None) -> records.RunRecord | Callable[[], Any]:
        """A run record to execute, or a callable giving the finished child's outcome."""
        if existing is None:
            hst = self.parent.host
            return runs.new_run(
                self.flow,
                self.params,
                hst.owner,
                hst.lease_until(),
                run_id=self.child_id,
                parent=(self.parent.run.id, self.key),
            )
        if existing.state.is_final:
            return lambda: runs.run_outcome(existing)
        return existing

    def step(self, outcome: Any, *, failed: bool) -> records.StepRecord:
        """The parent's journal entry for the child's outcome."""
        entry = steps.open_entry(
            self.parent,
            key=self.key,
            name=self.flow.name,
            kind=StepKind.SUBFLOW,
            digest=self.digest,
            started=self.started,
            child_run_id=self.child_id,
        )
        return steps.settle(entry, outcome, failed=failed)

    def save(self, step: records.StepRecord) -> None:
        """Store the parent's journal entry."""
        self.parent.host.store.put_step(step)
        self.parent.journal.record(step)


def _prepare_child(
    parent: context.RunContext, flow: spec.FlowSpec[Any, Any], params: dict[str, Any]
) -> records.StepRecord | _ChildCall:
    steps.check_aborted(parent)
    key = context.current_scope().next_key()
    digest = serialization.inputs_digest((), params)
    recorded = parent.journal.decide(key, flow.name, StepKind.SUBFLOW, digest)
    if recorded is not None:
        return recorded
    child_id = child_run_id(parent.run.id, key, parent.journal.attempt)
    return _ChildCall(parent, flow, params, key, digest, child_id)


def _reenter(hst: host.Host) -> records.StateChange:
    return records.StateChange(
        RunState.RUNNING,
        at=time.time(),
        reason="re-entered by its parent's replay",
        lease_owner=hst.owner,
        lease_expires_at=hst.lease_until(),
    )
