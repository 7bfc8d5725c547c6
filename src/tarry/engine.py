"""Flow runs: start, execute attempt by attempt, retry, finish; child runs.

`execute_run` (sync) and `execute_run_async` drive a run to its final state. Both
use the same pure helpers to decide what to store; they differ only in how they
call the function, sleep and write.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tarry import (
    answers,
    context,
    errors,
    futures,
    host,
    hub,
    journal,
    names,
    run_logs,
    serialization,
    steps,
    watcher,
)
from tarry.states import RunState, StepKind
from tarry.storage import base

if TYPE_CHECKING:
    from tarry.definitions import Flow

__all__ = [
    "call_flow",
    "call_flow_async",
    "child_run_id",
    "execute_run",
    "execute_run_async",
    "new_run",
    "run_outcome",
]

# A caller waiting for its suspended run is woken by the hub, or by the watcher's
# sweep when another process finished the run; this slow timeout only backs them up.
_SAFETY_POLL_SECONDS = 60.0
_CHILD_NAMESPACE = uuid.UUID("6f0c52a2-31a4-4c36-9d7e-8d0d8a4e1c55")
_ACTIVE = (RunState.RUNNING,)


def new_run(
    flow: Flow[Any, Any],
    parameters: dict[str, Any],
    owner: str | None,
    lease_expires_at: float | None,
    *,
    run_id: str | None = None,
    parent: tuple[str, str] | None = None,
    state: RunState = RunState.RUNNING,
) -> base.RunRecord:
    """A new run record for `flow`, leased to `owner` when it starts Running here.

    Raises:
        errors.SerializationError: A parameter cannot be stored as JSON.
    """
    now = time.time()
    return base.RunRecord(
        id=run_id or str(uuid.uuid4()),
        name=names.run_name(),
        flow_name=flow.name,
        entrypoint=flow.entrypoint,
        parameters=serialization.dumps(parameters),
        state=state,
        created_at=now,
        parent_id=parent[0] if parent else None,
        parent_step_key=parent[1] if parent else None,
        lease_owner=owner if state is RunState.RUNNING else None,
        lease_expires_at=lease_expires_at if state is RunState.RUNNING else None,
        started_at=now if state is RunState.RUNNING else None,
        tags=flow.tags,
    )


def child_run_id(parent_id: str, step_key: str, attempt: int) -> str:
    """The id of the child run started at `step_key`: the same on every replay."""
    return str(uuid.uuid5(_CHILD_NAMESPACE, f"{parent_id}/{step_key}/{attempt}"))


# -- pure decisions ------------------------------------------------------------------------


def _context(
    hst: host.Host,
    flow: Flow[Any, Any],
    run: base.RunRecord,
    jrnl: journal.Journal,
    parent: context.RunContext | None = None,
) -> context.RunContext:
    runner = flow.task_runner.duplicate()
    return context.RunContext(run, flow, hst, jrnl, runner, parent=parent)


def _completed(ctx: context.RunContext, value: Any) -> base.StateChange:
    return base.StateChange(
        RunState.COMPLETED,
        at=time.time(),
        result=serialization.dumps(value),
        require_owner=ctx.host.owner,
    )


def _failed(ctx: context.RunContext, exc: BaseException, state: RunState) -> base.StateChange:
    error = serialization.dumps(serialization.error_to_json(exc))
    reason = f"{type(exc).__name__}: {exc}"
    return base.StateChange(
        state, at=time.time(), reason=reason, error=error, require_owner=ctx.host.owner
    )


def _retrying(ctx: context.RunContext, exc: Exception, delay: float) -> base.StateChange:
    attempt = ctx.run.attempt + 1
    reason = (
        f"retry {attempt - 1} of {ctx.flow.retries} in {delay:g}s after {type(exc).__name__}: {exc}"
    )
    return base.StateChange(
        RunState.RUNNING,
        at=time.time(),
        reason=reason,
        attempt=attempt,
        require_owner=ctx.host.owner,
    )


def _retry_delay(ctx: context.RunContext, exc: Exception) -> float | None:
    if isinstance(exc, errors.NondeterminismError):
        return None
    return journal.retry_delay(ctx.flow.retries, ctx.flow.retry_delay_seconds, ctx.run.attempt)


def _outcome_change(ctx: context.RunContext, value: Any) -> base.StateChange:
    try:
        return _completed(ctx, value)
    except errors.SerializationError as exc:
        return _failed(ctx, exc, RunState.FAILED)


def _apply(ctx: context.RunContext, change: base.StateChange) -> base.RunRecord:
    updated = ctx.host.store.transition(ctx.run.id, _ACTIVE, change)
    if updated is None:
        raise errors.RunAborted(ctx.run.id, "another process took this run over")
    ctx.run = updated
    return updated


def _finish_log(ctx: context.RunContext) -> None:
    run = ctx.run
    if not run.state.is_final:
        return
    if ctx.journal.has_receives():
        # Runs waiting for this one's reply hear that none will come.
        answers.tell_blocked_senders(ctx.host, run)
    if run.state is RunState.COMPLETED:
        run_logs.log_run_event(ctx, logging.INFO, "Finished in state Completed()")
    else:
        run_logs.log_run_event(
            ctx, logging.ERROR, "Finished in state %s(%r)", run.state.value, run.state_reason
        )


def _start_log(ctx: context.RunContext) -> None:
    run_logs.setup_console(ctx.host.settings.logging_level)
    if ctx.flow.log_prints:
        run_logs.install_print_capture()
    verb = "Resuming" if len(ctx.journal) else "Beginning"
    run_logs.log_run_event(
        ctx, logging.INFO, "%s flow run %r for flow %r", verb, ctx.run.name, ctx.flow.name
    )


def _settle_futures(ctx: context.RunContext) -> None:
    # Futures the flow never resolved still run to their end, so their steps are
    # recorded; their errors are logged, not raised (the flow did not ask).
    pending = list(ctx.futures)
    futures.wait(pending)
    for future in pending:
        error = future.exception(0)
        if error is not None and not isinstance(error, errors.ControlSignal):
            with context.run_scope(ctx, False):
                run_logs.get_run_logger().error(
                    "Unresolved task %s-%s failed: %s", future.task_name, future.step_key, error
                )
    ctx.task_runner.shutdown()


# -- sync driver ---------------------------------------------------------------------------


def call_flow(flow: Flow[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a sync flow: a new top-level run here, or a child run inside a flow."""
    parameters = flow.bind(args, kwargs)
    parent = context.current_run()
    if parent is not None:
        return _call_child(parent, flow, parameters)
    hst = host.get_host()
    run = new_run(flow, parameters, hst.owner, hst.lease_until())
    # Lazy: the run's first step or its end makes the row durable; until then
    # nothing outside this process depends on it.
    hst.store.insert_run(run, reason="started by a flow call", durable=False)
    return _drive(hst, flow, run, parameters)


def _drive(
    hst: host.Host, flow: Flow[Any, Any], run: base.RunRecord, parameters: dict[str, Any] | None
) -> Any:
    # The caller of a flow blocks until its run ends, as in Prefect. While the run
    # is suspended this thread holds none of the flow's stack, only this loop.
    while True:
        try:
            return execute_run(hst, flow, run, parameters)
        except errors.RunSuspended as suspended:
            # Leave the except block before waiting: the exception's traceback
            # holds every frame of the flow, which a suspended run must not keep.
            chain = suspended.chain
        except errors.RunAborted:
            ended = _ended(hst, run.id)
            if ended is None:
                raise
            return ended.outcome()
        ready = _await_ready(hst, run.id, chain)
        if not isinstance(ready, base.RunRecord):
            return ready.outcome()
        run, parameters = ready, None


def _ended(hst: host.Host, run_id: str) -> _Ended | None:
    """The run, if it ended while taken away from this caller (cancelled, say)."""
    if hst.hub.closed_reason is not None:
        return None  # the process is shutting down; its store may be closed already
    current = hst.store.get_run(run_id)
    return _Ended(current) if current is not None and current.state.is_final else None


@dataclasses.dataclass(frozen=True)
class _Ended:
    """A run that another process finished while this caller waited for it."""

    run: base.RunRecord

    def outcome(self) -> Any:
        return run_outcome(self.run)


def run_outcome(run: base.RunRecord) -> Any:
    """An ended run's return value, or its error raised (`RunFailed` if none was stored)."""
    if run.state is RunState.COMPLETED:
        return serialization.loads(run.result)
    return _raise_child_error(run)


def _ready_or_ended(
    hst: host.Host, run_id: str, *, claim: bool = True
) -> base.RunRecord | _Ended | None:
    """Claim the run if it became Pending; `_Ended` if it is final; else `None`.

    With `claim=False`, a Pending run is returned as it is, unclaimed.
    """
    current = hst.store.get_run(run_id)
    if current is None:
        raise errors.RunNotFound(run_id)
    if current.state.is_final:
        return _Ended(current)
    if current.state is not RunState.PENDING:
        return None
    if not claim:
        return current
    return hst.store.transition(run_id, (RunState.PENDING,), _claim_change(hst))


def _claim_change(hst: host.Host) -> base.StateChange:
    return base.StateChange(
        RunState.RUNNING,
        at=time.time(),
        reason="resumed by the process that started it",
        lease_owner=hst.owner,
        lease_expires_at=hst.lease_until(),
    )


def _await_ready(hst: host.Host, run_id: str, chain: tuple[str, ...]) -> base.RunRecord | _Ended:
    signal = hst.hub.watch_run(run_id, chain)
    watcher.ensure_watcher(hst)
    try:
        while True:
            _check_open(hst, run_id)
            found = hst.hub.take_handed(run_id) or _ready_or_ended(hst, run_id)
            if found is not None:
                return found
            # Woken by the hub: an answer here, a timer, the watcher relaying an
            # answer given elsewhere, or its sweep seeing the run ended elsewhere.
            signal.wait(_SAFETY_POLL_SECONDS)
            signal.clear()
    finally:
        _stop_watching(hst, run_id, signal)


def _check_open(hst: host.Host, run_id: str) -> None:
    """A caller stops waiting for its run when this process shuts down.

    Raises:
        errors.RunAborted: The host closed.
    """
    if hst.hub.closed_reason is not None:
        raise errors.RunAborted(run_id, hst.hub.closed_reason)


def _stop_watching(hst: host.Host, run_id: str, signal: hub.Signal) -> None:
    # A run handed over just as its caller gave up waiting goes back to Pending.
    untaken = hst.hub.unwatch_run(run_id, signal)
    if untaken is not None:
        answers.give_back(hst, untaken)


def execute_run(
    hst: host.Host,
    flow: Flow[Any, Any],
    run: base.RunRecord,
    parameters: dict[str, Any] | None = None,
    *,
    parent: context.RunContext | None = None,
    journal_steps: list[base.StepRecord] | None = None,
) -> Any:
    """Drive a Running run leased to this process to a final state.

    Steps already in its journal are replayed, not run again.

    Args:
        hst: This process's host.
        flow: The run's flow.
        run: The run, leased to this process.
        parameters: Its decoded parameters, for a run just created here (empty journal).
        parent: The calling run's context, for a child run executed in place.
        journal_steps: Its journal when known (read from the store when `None`).

    Returns:
        The flow's result.

    Raises:
        Exception: The flow's own error once its retries are used up.
    """
    params = parameters if parameters is not None else serialization.loads(run.parameters)
    steps_so_far = journal_steps
    if steps_so_far is None:
        steps_so_far = hst.store.get_steps(run.id) if parameters is None else []
    jrnl = journal.Journal(run.id, run.attempt, steps_so_far)
    ctx = _context(hst, flow, run, jrnl, parent)
    hst.track(run.id)
    try:
        _start_log(ctx)
        return _attempts(ctx, params)
    finally:
        hst.untrack(run.id)
        _finish_log(ctx)


def _stop_if_shutting_down(ctx: context.RunContext, exc: Exception) -> None:
    """An error met while this process shuts down is the shutdown's, not the flow's.

    The store may be closing under the run (a read fails, its folder is gone): the
    run stops unrecorded, as a waiting run does, and resumes by replay elsewhere.

    Raises:
        errors.RunAborted: The process is shutting down.
    """
    reason = ctx.host.hub.closed_reason
    if reason is not None:
        raise errors.RunAborted(ctx.run.id, reason) from exc


def _attempts(ctx: context.RunContext, params: dict[str, Any]) -> Any:
    while True:
        ctx.journal.start_attempt(ctx.run.attempt)
        attempt_ctx = _context(ctx.host, ctx.flow, ctx.run, ctx.journal, ctx.parent)
        try:
            value = _attempt(attempt_ctx, params)
        except errors.ControlSignal:
            raise
        except Exception as exc:
            _stop_if_shutting_down(ctx, exc)
            delay = _retry_delay(ctx, exc)
            if delay is None:
                _apply(ctx, _failed(ctx, exc, RunState.FAILED))
                raise
            _apply(ctx, _retrying(ctx, exc, delay))
            time.sleep(delay)
            continue
        except BaseException as exc:
            _apply(ctx, _failed(ctx, exc, RunState.CRASHED))
            raise
        change = _outcome_change(ctx, value)
        _apply(ctx, change)
        if ctx.run.state is RunState.FAILED:
            raise errors.RunFailed(ctx.run.id, ctx.run.state.value, ctx.run.state_reason)
        return value


def _attempt(ctx: context.RunContext, params: dict[str, Any]) -> Any:
    args, kwargs = ctx.flow.call_arguments(params)
    with context.run_scope(ctx, ctx.flow.log_prints):
        try:
            if ctx.flow.timeout_seconds is None:
                value = ctx.flow.fn(*args, **kwargs)
            else:
                value = _with_flow_timeout(ctx, lambda: ctx.flow.fn(*args, **kwargs))
            value = futures.resolve_futures(value)
        finally:
            _settle_futures(ctx)
        ctx.journal.check_complete()
    return value


def _with_flow_timeout(ctx: context.RunContext, body: Callable[[], Any]) -> Any:
    # The body runs in a helper thread so the caller can give up on it; the
    # abandoned thread is stopped at its next step by `ctx.aborted`.
    seconds = ctx.flow.timeout_seconds or 0.0

    def timed_out() -> BaseException:
        ctx.aborted = f"flow timed out after {seconds:g}s"
        return errors.FlowTimeout(f"flow {ctx.flow.name!r} exceeded its timeout of {seconds:g}s")

    return steps.call_with_deadline(body, seconds, f"tarry-flow-{ctx.run.name}", timed_out)


def _call_child(parent: context.RunContext, flow: Flow[Any, Any], params: dict[str, Any]) -> Any:
    call = _prepare_child(parent, flow, params)
    if isinstance(call, base.StepRecord):
        return steps.replay(call)
    try:
        value = _run_child(call)
    except Exception as exc:
        call.save(call.step(exc, failed=True))
        raise
    call.save(call.step(value, failed=False))
    return value


def _run_child(call: _ChildCall) -> Any:
    hst = call.parent.host
    existing = hst.store.get_run(call.child_id)
    plan = call.plan(existing)
    if not isinstance(plan, base.RunRecord):
        return plan()
    if existing is None:
        hst.store.insert_run(plan, reason=call.started_reason, durable=False)
        return execute_run(hst, call.flow, plan, call.params, parent=call.parent)
    reentered = hst.store.transition(call.child_id, _REENTERABLE, _reenter(hst))
    if reentered is None:
        raise errors.RunAborted(call.child_id, "the child run changed state while re-entering it")
    return execute_run(hst, call.flow, reentered, parent=call.parent)


# -- shared child-run helpers --------------------------------------------------------------

_REENTERABLE = (RunState.RUNNING, RunState.PENDING, RunState.WAITING)


@dataclasses.dataclass
class _ChildCall:
    """A child flow called at one position of its parent's journal."""

    parent: context.RunContext
    flow: Flow[Any, Any]
    params: dict[str, Any]
    key: str
    digest: str
    child_id: str
    started: float = dataclasses.field(default_factory=time.time)

    @property
    def started_reason(self) -> str:
        return f"started by run {self.parent.run.id} at step {self.key}"

    def plan(self, existing: base.RunRecord | None) -> base.RunRecord | Callable[[], Any]:
        """A run record to execute, or a callable giving the finished child's outcome."""
        if existing is None:
            hst = self.parent.host
            return new_run(
                self.flow,
                self.params,
                hst.owner,
                hst.lease_until(),
                run_id=self.child_id,
                parent=(self.parent.run.id, self.key),
            )
        if existing.state is RunState.COMPLETED:
            return lambda: serialization.loads(existing.result)
        if existing.state.is_final:
            return lambda: _raise_child_error(existing)
        return existing

    def step(self, outcome: Any, *, failed: bool) -> base.StepRecord:
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

    def save(self, step: base.StepRecord) -> None:
        """Store the parent's journal entry."""
        self.parent.host.store.put_step(step)
        self.parent.journal.record(step)


def _prepare_child(
    parent: context.RunContext, flow: Flow[Any, Any], params: dict[str, Any]
) -> base.StepRecord | _ChildCall:
    steps.check_aborted(parent)
    key = context.current_scope().next_key()
    digest = serialization.inputs_digest((), params)
    recorded = parent.journal.decide(key, flow.name, StepKind.SUBFLOW, digest)
    if recorded is not None:
        return recorded
    child_id = child_run_id(parent.run.id, key, parent.journal.attempt)
    return _ChildCall(parent, flow, params, key, digest, child_id)


def _raise_child_error(run: base.RunRecord) -> Any:
    if run.error is None:
        raise errors.RunFailed(run.id, run.state.value, run.state_reason)
    raise serialization.error_from_json(serialization.loads(run.error))


def _reenter(hst: host.Host) -> base.StateChange:
    return base.StateChange(
        RunState.RUNNING,
        at=time.time(),
        reason="re-entered by its parent's replay",
        lease_owner=hst.owner,
        lease_expires_at=hst.lease_until(),
    )


# -- async driver --------------------------------------------------------------------------


async def call_flow_async(
    flow: Flow[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Async version of `call_flow`."""
    parameters = flow.bind(args, kwargs)
    parent = context.current_run()
    if parent is not None:
        return await _call_child_async(parent, flow, parameters)
    hst = host.get_host()
    run = new_run(flow, parameters, hst.owner, hst.lease_until())
    await steps.offload(hst.store.insert_run, run, "started by a flow call", durable=False)
    return await _drive_async(hst, flow, run, parameters)


async def _drive_async(
    hst: host.Host, flow: Flow[Any, Any], run: base.RunRecord, parameters: dict[str, Any] | None
) -> Any:
    """Async version of `_drive`."""
    journal_steps: list[base.StepRecord] | None = None
    while True:
        try:
            return await execute_run_async(hst, flow, run, parameters, journal_steps=journal_steps)
        except errors.RunSuspended as suspended:
            chain = suspended.chain  # see _drive: the traceback must not outlive this
        except errors.RunAborted:
            ended = _ended(hst, run.id)
            if ended is None:
                raise
            return ended.outcome()
        ready = await _await_ready_async(hst, run.id, chain)
        if isinstance(ready, _Ended):
            return ready.outcome()
        (run, journal_steps), parameters = ready, None


def _claim_with_journal(
    hst: host.Host, run_id: str
) -> tuple[base.RunRecord, list[base.StepRecord]] | _Ended | None:
    # One trip to a store thread: claim the run and read its journal.
    claimed = hst.store.transition(run_id, (RunState.PENDING,), _claim_change(hst))
    if claimed is not None:
        return claimed, hst.store.get_steps(run_id)
    # Not Pending any more: ended (another process ran it), or someone else holds it.
    found = _ready_or_ended(hst, run_id, claim=False)
    return found if isinstance(found, _Ended) else None


async def _await_ready_async(
    hst: host.Host, run_id: str, chain: tuple[str, ...]
) -> tuple[base.RunRecord, list[base.StepRecord]] | _Ended:
    """Async version of `_await_ready`; also returns the claimed run's journal."""
    signal = hst.hub.watch_run(run_id, chain, asyncio.get_running_loop())
    watcher.ensure_watcher(hst)
    try:
        while True:
            _check_open(hst, run_id)
            handed = hst.hub.take_handed(run_id)
            if handed is not None:
                return handed, await steps.offload(hst.store.get_steps, run_id)
            # A quick read, done on the loop; only a claim is a write worth offloading.
            peek = _ready_or_ended(hst, run_id, claim=False)
            if isinstance(peek, _Ended):
                return peek
            if peek is not None:
                claimed = await steps.offload(_claim_with_journal, hst, run_id)
                if claimed is not None:
                    return claimed
            await signal.wait_async(_SAFETY_POLL_SECONDS)
            signal.clear()
    finally:
        _stop_watching(hst, run_id, signal)


async def execute_run_async(
    hst: host.Host,
    flow: Flow[Any, Any],
    run: base.RunRecord,
    parameters: dict[str, Any] | None = None,
    *,
    parent: context.RunContext | None = None,
    journal_steps: list[base.StepRecord] | None = None,
) -> Any:
    """Async version of `execute_run`; `journal_steps`, when given, are the run's journal."""
    params = parameters if parameters is not None else serialization.loads(run.parameters)
    steps_so_far = journal_steps
    if steps_so_far is None:
        steps_so_far = (
            await steps.offload(hst.store.get_steps, run.id) if parameters is None else []
        )
    jrnl = journal.Journal(run.id, run.attempt, steps_so_far)
    ctx = _context(hst, flow, run, jrnl, parent)
    hst.track(run.id)
    try:
        _start_log(ctx)
        return await _attempts_async(ctx, params)
    finally:
        hst.untrack(run.id)
        _finish_log(ctx)


async def _attempts_async(ctx: context.RunContext, params: dict[str, Any]) -> Any:
    while True:
        ctx.journal.start_attempt(ctx.run.attempt)
        attempt_ctx = _context(ctx.host, ctx.flow, ctx.run, ctx.journal, ctx.parent)
        try:
            value = await _attempt_async(attempt_ctx, params)
        except errors.ControlSignal:
            raise
        except Exception as exc:
            _stop_if_shutting_down(ctx, exc)
            delay = _retry_delay(ctx, exc)
            if delay is None:
                await steps.offload(_apply, ctx, _failed(ctx, exc, RunState.FAILED))
                raise
            await steps.offload(_apply, ctx, _retrying(ctx, exc, delay))
            await asyncio.sleep(delay)
            continue
        except BaseException as exc:
            _apply(ctx, _failed(ctx, exc, RunState.CRASHED))
            raise
        await steps.offload(_apply, ctx, _outcome_change(ctx, value))
        if ctx.run.state is RunState.FAILED:
            raise errors.RunFailed(ctx.run.id, ctx.run.state.value, ctx.run.state_reason)
        return value


async def _attempt_async(ctx: context.RunContext, params: dict[str, Any]) -> Any:
    args, kwargs = ctx.flow.call_arguments(params)
    with context.run_scope(ctx, ctx.flow.log_prints):
        try:
            body = ctx.flow.fn(*args, **kwargs)
            seconds = ctx.flow.timeout_seconds
            value = await (body if seconds is None else asyncio.wait_for(body, seconds))
            value = futures.resolve_futures(value)
        except TimeoutError:
            ctx.aborted = f"flow timed out after {seconds:g}s"
            raise errors.FlowTimeout(
                f"flow {ctx.flow.name!r} exceeded its timeout of {seconds:g}s"
            ) from None
        finally:
            if ctx.futures:
                await steps.offload(_settle_futures, ctx)
            else:
                ctx.task_runner.shutdown()
        ctx.journal.check_complete()
    return value


async def _call_child_async(
    parent: context.RunContext, flow: Flow[Any, Any], params: dict[str, Any]
) -> Any:
    call = _prepare_child(parent, flow, params)
    if isinstance(call, base.StepRecord):
        return steps.replay(call)
    try:
        value = await _run_child_async(call)
    except Exception as exc:
        await steps.offload(call.save, call.step(exc, failed=True))
        raise
    await steps.offload(call.save, call.step(value, failed=False))
    return value


async def _run_child_async(call: _ChildCall) -> Any:
    hst = call.parent.host
    existing = await steps.offload(hst.store.get_run, call.child_id)
    plan = call.plan(existing)
    if not isinstance(plan, base.RunRecord):
        return plan()
    if existing is None:
        await steps.offload(hst.store.insert_run, plan, call.started_reason, durable=False)
        return await execute_run_async(hst, call.flow, plan, call.params, parent=call.parent)
    reentered = await steps.offload(
        hst.store.transition, call.child_id, _REENTERABLE, _reenter(hst)
    )
    if reentered is None:
        raise errors.RunAborted(call.child_id, "the child run changed state while re-entering it")
    return await execute_run_async(hst, call.flow, reentered, parent=call.parent)
