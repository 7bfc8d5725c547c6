"""One run: attempts, retries, the flow's timeout, and the stored outcome.

`execute_run` (sync) and `execute_run_async` drive a run to its final state. Both
use the same pure helpers to decide what to store; they differ only in how they
call the function, sleep and write.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tarry import errors, futures, host, serialization
from tarry.engine import answers, context, journal, offloading, run_logs, steps
from tarry.states import RunState
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.engine import spec

__all__ = ["execute_run", "execute_run_async", "new_run", "run_outcome"]

_ACTIVE = (RunState.RUNNING,)


def new_run(
    flow: spec.FlowSpec[Any, Any],
    parameters: dict[str, Any],
    owner: str | None,
    lease_expires_at: float | None,
    *,
    run_id: str | None = None,
    parent: tuple[str, str] | None = None,
    state: RunState = RunState.RUNNING,
) -> records.RunRecord:
    """A new run record for `flow`, leased to `owner` when it starts Running here.

    Raises:
        errors.SerializationError: A parameter cannot be stored as JSON.
    """
    now = time.time()
    return records.RunRecord(
        id=run_id or str(uuid.uuid4()),
        name=flow.run_name(parameters),
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


def run_outcome(run: records.RunRecord) -> Any:
    """An ended run's return value, or its error raised (`RunFailed` if none was stored)."""
    if run.state is RunState.COMPLETED:
        return serialization.loads(run.result)
    return _raise_child_error(run)


def _raise_child_error(run: records.RunRecord) -> Any:
    if run.error is None:
        raise errors.RunFailed(run.id, run.state.value, run.state_reason)
    raise serialization.error_from_json(serialization.loads(run.error))


# -- pure decisions ------------------------------------------------------------------------


def _context(
    hst: host.Host,
    flow: spec.FlowSpec[Any, Any],
    run: records.RunRecord,
    jrnl: journal.Journal,
    parent: context.RunContext | None = None,
) -> context.RunContext:
    runner = flow.task_runner.duplicate()
    return context.RunContext(run, flow, hst, jrnl, runner, parent=parent)


def _completed(ctx: context.RunContext, value: Any) -> records.StateChange:
    return records.StateChange(
        RunState.COMPLETED,
        at=time.time(),
        result=serialization.dumps(value),
        require_owner=ctx.host.owner,
    )


def _failed(ctx: context.RunContext, exc: BaseException, state: RunState) -> records.StateChange:
    error = serialization.dumps(serialization.error_to_json(exc))
    reason = f"{type(exc).__name__}: {exc}"
    return records.StateChange(
        state, at=time.time(), reason=reason, error=error, require_owner=ctx.host.owner
    )


def _retrying(ctx: context.RunContext, exc: Exception, delay: float) -> records.StateChange:
    attempt = ctx.run.attempt + 1
    reason = (
        f"retry {attempt - 1} of {ctx.flow.retries} in {delay:g}s after {type(exc).__name__}: {exc}"
    )
    return records.StateChange(
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


def _outcome_change(ctx: context.RunContext, value: Any) -> records.StateChange:
    try:
        return _completed(ctx, value)
    except errors.SerializationError as exc:
        return _failed(ctx, exc, RunState.FAILED)


def _apply(ctx: context.RunContext, change: records.StateChange) -> records.RunRecord:
    updated = ctx.host.store.transition(ctx.run.id, _ACTIVE, change)
    if updated is None:
        raise errors.RunAborted(ctx.run.id, "another process took this run over")
    ctx.run = updated
    return updated


async def _apply_async(ctx: context.RunContext, change: records.StateChange) -> records.RunRecord:
    """Async version of `_apply`: the write joins the next group commit."""
    updated = await offloading.write(ctx.host.store.transition, ctx.run.id, _ACTIVE, change)
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


# -- the drivers: each async twin after its sync original ----------------------------------


def execute_run(
    hst: host.Host,
    flow: spec.FlowSpec[Any, Any],
    run: records.RunRecord,
    parameters: dict[str, Any] | None = None,
    *,
    parent: context.RunContext | None = None,
    journal_steps: list[records.StepRecord] | None = None,
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


async def execute_run_async(
    hst: host.Host,
    flow: spec.FlowSpec[Any, Any],
    run: records.RunRecord,
    parameters: dict[str, Any] | None = None,
    *,
    parent: context.RunContext | None = None,
    journal_steps: list[records.StepRecord] | None = None,
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
                await _apply_async(ctx, _failed(ctx, exc, RunState.FAILED))
                raise
            await _apply_async(ctx, _retrying(ctx, exc, delay))
            await asyncio.sleep(delay)
            continue
        except BaseException as exc:
            _apply(ctx, _failed(ctx, exc, RunState.CRASHED))
            raise
        await _apply_async(ctx, _outcome_change(ctx, value))
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


async def _attempt_async(ctx: context.RunContext, params: dict[str, Any]) -> Any:
    args, kwargs = ctx.flow.call_arguments(params)
    with context.run_scope(ctx, ctx.flow.log_prints):
        try:
            body = ctx.flow.fn(*args, **kwargs)
            if ctx.flow.timeout_seconds is None:
                value = await body
            else:
                seconds = ctx.flow.timeout_seconds
                value = await steps.await_with_deadline(body, seconds, _flow_timeout(ctx))
            value = futures.resolve_futures(value)
        finally:
            if ctx.futures:
                await steps.offload(_settle_futures, ctx)
            else:
                ctx.task_runner.shutdown()
        ctx.journal.check_complete()
    return value


def _with_flow_timeout(ctx: context.RunContext, body: Callable[[], Any]) -> Any:
    # The body runs in a helper thread that the deadline interrupts where it is
    # (one blocked in C is abandoned, and stopped at its next step by `ctx.aborted`).
    seconds = ctx.flow.timeout_seconds or 0.0
    name = f"tarry-flow-{ctx.run.name}"
    return steps.call_with_deadline(body, seconds, name, _flow_timeout(ctx))


def _flow_timeout(ctx: context.RunContext) -> Callable[[str], BaseException]:
    """What the flow's own deadline raises when it expires (and only then)."""
    seconds = ctx.flow.timeout_seconds or 0.0

    def timed_out(detail: str) -> BaseException:
        ctx.aborted = f"flow timed out after {seconds:g}s"
        return errors.FlowTimeout(
            f"flow {ctx.flow.name!r} exceeded its timeout of {seconds:g}s{detail}"
        )

    return timed_out
