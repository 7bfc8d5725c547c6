"""Task calls and recorded values as journal steps.

The decisions (key, digest, replay or execute, what to record) are shared pure
helpers; `call_task` and `call_task_async` are the thin sync and async drivers
that run the function, sleep between retries and write the record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import dataclasses
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from tarry import errors, futures, interrupts, serialization, task_runners
from tarry.engine import caching, context, journal, limits, run_logs
from tarry.engine.offloading import offload
from tarry.states import StepKind, StepStatus
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.engine import spec

__all__ = [
    "await_with_deadline",
    "call_task",
    "call_task_async",
    "call_with_deadline",
    "check_aborted",
    "offload",
    "open_entry",
    "record_keyed",
    "record_value",
    "replay",
    "run_coroutine_sync",
    "settle",
    "submit_task",
]

T = TypeVar("T")


@dataclasses.dataclass
class _Call:
    """One step call being executed: what is needed to record its outcome."""

    ctx: context.RunContext | None
    task: spec.TaskSpec[Any, Any]
    key: str
    digest: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    started: float = dataclasses.field(default_factory=time.time)
    tries: int = 0

    @property
    def label(self) -> str:
        return f"Task run '{self.task.name}-{self.key}'"

    def opened(self) -> records.StepRecord:
        if self.ctx is None:
            raise RuntimeError("only steps inside a run are recorded")
        return open_entry(
            self.ctx,
            key=self.key,
            name=self.task.name,
            kind=StepKind.TASK,
            digest=self.digest,
            started=self.started,
        )

    def settled(self, outcome: Any, *, failed: bool) -> records.StepRecord:
        return settle(self.opened(), outcome, failed=failed, attempts=self.tries)

    def completed(self, value: Any) -> records.StepRecord:
        return self.settled(value, failed=False)

    def failed(self, exc: BaseException) -> records.StepRecord:
        return self.settled(exc, failed=True)

    def next_delay(self, exc: Exception) -> float | None:
        delay = journal.retry_delay(self.task.retries, self.task.retry_delay_seconds, self.tries)
        if delay is not None:
            run_logs.get_run_logger().warning(
                "Attempt %d of %d failed with %s: %s; retrying in %.3gs",
                self.tries,
                self.task.retries + 1,
                type(exc).__name__,
                exc,
                delay,
            )
        return delay


def open_entry(
    ctx: context.RunContext,
    *,
    key: str,
    name: str,
    kind: StepKind,
    digest: str,
    started: float,
    child_run_id: str | None = None,
) -> records.StepRecord:
    """The journal entry of a step in progress; `settle` fills in its outcome."""
    return records.StepRecord(
        run_id=ctx.run.id,
        key=key,
        name=name,
        kind=kind,
        inputs_digest=digest,
        status=StepStatus.COMPLETED,
        started_at=started,
        ended_at=started,
        flow_attempt=ctx.journal.attempt,
        child_run_id=child_run_id,
    )


def settle(
    entry: records.StepRecord, outcome: Any, *, failed: bool, attempts: int = 1
) -> records.StepRecord:
    """`entry` finished now with `outcome`: its value, or its exception when `failed`.

    Raises:
        errors.SerializationError: The value cannot be stored as JSON.
    """
    if failed:
        error = serialization.dumps(serialization.error_to_json(outcome))
        fields: dict[str, Any] = {"status": StepStatus.FAILED, "result": None, "error": error}
    else:
        fields = {"status": StepStatus.COMPLETED, "result": serialization.dumps(outcome)}
    return dataclasses.replace(entry, ended_at=time.time(), attempts=attempts, **fields)


def check_aborted(ctx: context.RunContext) -> None:
    """Stop a thread that still runs steps of a run taken away from it.

    Raises:
        errors.RunAborted: The run timed out or was cancelled.
    """
    ctx.check_aborted()


def replay(step: records.StepRecord) -> Any:
    """Return a recorded step's result, or raise its recorded error."""
    if step.status is StepStatus.COMPLETED:
        return serialization.loads(step.result)
    raise serialization.error_from_json(serialization.loads(step.error))


def _prepare(
    ctx: context.RunContext,
    task: spec.TaskSpec[Any, Any],
    key: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> _Call | records.StepRecord:
    check_aborted(ctx)
    args = futures.resolve_futures(args)
    kwargs = futures.resolve_futures(kwargs)
    digest = serialization.inputs_digest(args, kwargs)
    recorded = ctx.journal.decide(key, task.name, StepKind.TASK, digest)
    return recorded if recorded is not None else _Call(ctx, task, key, digest, args, kwargs)


def _save(ctx: context.RunContext, step: records.StepRecord) -> None:
    # Shielded: a deadline's interrupt never lands between the store's write and
    # the journal's record of it, nor inside the write.
    with interrupts.shielded():
        saved = ctx.host.store.put_step(step, owner=ctx.host.owner)
        if saved:
            ctx.journal.record(step)
    if not saved:
        # Paused past its lease, this process lost the run to another one: the
        # journal is theirs now, and this execution must stop here.
        raise errors.RunAborted(ctx.run.id, "another process took the run over")


def _outcome(call: _Call, value: Any) -> records.StepRecord:
    try:
        return call.completed(value)
    except errors.SerializationError as exc:
        return call.failed(exc)


def _cache_plan(ctx: context.RunContext, call: _Call) -> caching.Plan | None:
    """The call's cache plan (see `caching`); raises `errors.CacheKeyError` as its failure."""
    return caching.plan(ctx, call.task, call.args, call.kwargs, step_key=call.key, label=call.label)


# -- sync driver ---------------------------------------------------------------------------


def call_task(task: spec.TaskSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a sync task: a journaled step inside a flow, a plain call outside.

    Raises:
        errors.NondeterminismError: The journal holds a different call here.
    """
    ctx = context.current_run()
    if ctx is None:
        return _invoke_with_retries(_Call(None, task, "", "", args, kwargs))
    return _run_step(ctx, task, context.current_scope().next_key(), args, kwargs)


def _run_step(
    ctx: context.RunContext,
    task: spec.TaskSpec[Any, Any],
    key: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    inline: bool = True,
) -> Any:
    call = _prepare(ctx, task, key, args, kwargs)
    if isinstance(call, records.StepRecord):
        return replay(call)
    cache = _cached(ctx, call)
    if isinstance(cache, records.StepRecord):
        return replay(cache)
    refused = _waits_refused(ctx, task, inline)
    with context.step_scope(
        key, call.label, task.log_prints, is_async=task.is_async, waits_refused=refused
    ):
        try:
            value = _invoke_with_retries(call)
        except Exception as exc:
            _save(ctx, call.failed(exc))
            raise
    step = _outcome(call, value)
    _save(ctx, step)
    caching.remember(ctx, cache, step)
    return replay(step) if step.status is StepStatus.FAILED else value


def _cached(ctx: context.RunContext, call: _Call) -> caching.Plan | records.StepRecord | None:
    """The step served from the cache (saved), else how the call's result is cached."""
    try:
        plan = _cache_plan(ctx, call)
    except errors.CacheKeyError as exc:
        _save(ctx, call.failed(exc))
        raise
    entry = caching.look_up(ctx, plan)
    if entry is None:
        return plan
    step = caching.hit_step(call.opened(), entry)
    _save(ctx, step)
    return step


def _waits_refused(
    ctx: context.RunContext, task: spec.TaskSpec[Any, Any], inline: bool
) -> str | None:
    """Why a wait inside this task call cannot pause its run, or `None` when it can.

    A wait in a task pauses the run that owns it (as in Prefect) when the task runs
    in the flow's own line of execution, which then simply stops at the wait. A task
    beside the flow (submitted), in a helper thread its timeout interrupts, or blocking
    an `async def` flow's event loop cannot stop the run there.
    """
    if not inline:
        return "a submitted task runs beside its flow; call the task directly to wait in it"
    if task.timeout_seconds is not None:
        return "a task with timeout_seconds runs in a helper thread its timeout interrupts"
    if ctx.flow.is_async and not task.is_async:
        return "a sync task of an async def flow would block the event loop; make it async def"
    return None


def _invoke_with_retries(call: _Call) -> Any:
    # Each attempt holds its task's tag slots, as in Prefect: a retry's delay frees them.
    while True:
        call.tries += 1
        try:
            if call.ctx is None:
                return _invoke(call.task, call.args, call.kwargs)
            with limits.task_slots(call.ctx.host, call.task.tags, call.key):
                return _invoke(call.task, call.args, call.kwargs)
        except Exception as exc:
            delay = call.next_delay(exc)
            if delay is None:
                raise
            interrupts.sleep(delay)  # a flow's timeout cuts the delay short


def _invoke(
    task: spec.TaskSpec[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    remote: task_runners.RemoteCall | None = None,
) -> Any:
    remote = remote or task_runners.remote_call()
    if remote is not None:
        return _invoke_remote(task, args, kwargs, remote)

    def target() -> Any:
        if task.is_async:
            return run_coroutine_sync(task.fn(*args, **kwargs))
        return task.fn(*args, **kwargs)

    seconds = task.timeout_seconds
    if seconds is None:
        return target()
    timeout = _task_timeout(task.name, seconds)
    return call_with_deadline(target, seconds, f"tarry-task-{task.name}", timeout)


def _invoke_remote(
    task: spec.TaskSpec[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    remote: task_runners.RemoteCall,
) -> Any:
    """Call the task's function through its runner, which stops it where it runs at its deadline.

    Raises:
        errors.TaskTimeout: The call ran past the task's `timeout_seconds`.
    """
    seconds = task.timeout_seconds
    try:
        return remote(task.fn, args, kwargs, seconds)
    except errors.TaskTimeout as exc:
        if seconds is None:
            raise
        raise errors.TaskTimeout(
            f"task {task.name!r} exceeded its timeout of {seconds:g}s; {exc}"
        ) from None


def call_with_deadline(
    target: Callable[[], T],
    seconds: float,
    thread_name: str,
    on_timeout: Callable[[str], BaseException],
) -> T:
    """`interrupts.call_with_deadline`, with an abandoned body logged to the run's log.

    Raises:
        BaseException: What `on_timeout(...)` returns, when `target` did not return in time.
    """
    return interrupts.call_with_deadline(target, seconds, thread_name, on_timeout, _log_abandoned)


def _log_abandoned(error: BaseException) -> None:
    run_logs.get_run_logger().warning("%s", error)


def _task_timeout(name: str, seconds: float) -> Callable[[str], BaseException]:
    def build(detail: str) -> BaseException:
        return errors.TaskTimeout(f"task {name!r} exceeded its timeout of {seconds:g}s{detail}")

    return build


async def await_with_deadline(
    body: Coroutine[Any, Any, T], seconds: float, on_timeout: Callable[[str], BaseException]
) -> T:
    """Async version of `call_with_deadline`: await `body`, for `seconds` at most.

    Only this deadline's expiry becomes `on_timeout()`: a `TimeoutError` that `body`
    raises itself (a wait's `WaitTimeout`, a receive's timeout) passes through as it is.

    Raises:
        BaseException: What `on_timeout("")` returns, when `body` did not end in time.
    """
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await body
    except TimeoutError:
        if deadline.expired():
            raise on_timeout("") from None
        raise


def submit_task(
    task: spec.TaskSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> futures.TarryFuture[Any]:
    """Start a task on the current flow's task runner; its journal key is taken now."""
    ctx = context.current_run()
    if ctx is None:
        return _submit_outside_flow(task, args, kwargs)
    check_aborted(ctx)
    key = context.current_scope().next_key()
    if task.is_async:
        inner = ctx.task_runner.submit(
            lambda: run_coroutine_sync(_run_step_async(ctx, task, key, args, kwargs, inline=False))
        )
    else:
        inner = ctx.task_runner.submit(
            lambda: _run_step(ctx, task, key, args, kwargs, inline=False)
        )
    future: futures.TarryFuture[Any] = futures.TarryFuture(inner, key, task.name)
    ctx.futures.append(future)
    return future


_outside_pool: cf.ThreadPoolExecutor | None = None
_outside_lock = threading.Lock()


def _submit_outside_flow(
    task: spec.TaskSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> futures.TarryFuture[Any]:
    global _outside_pool  # noqa: PLW0603 - one shared pool for tasks submitted outside flows
    with _outside_lock:
        if _outside_pool is None:
            _outside_pool = cf.ThreadPoolExecutor(thread_name_prefix="tarry-task")
    inner = _outside_pool.submit(call_task, task, futures.resolve_futures(args), kwargs)
    return futures.TarryFuture(inner, "", task.name)


def record_value(name: str, compute: Callable[[], T]) -> T:
    """Compute a value once per run and return the recorded one on replay.

    Outside a flow the value is simply computed.
    """
    return record_keyed(name, lambda _key: compute())


def record_keyed(name: str, compute: Callable[[str | None], T]) -> T:
    """`record_value` whose `compute` gets a key unique to this call in this run.

    The key (`<run id>/<journal key>`) is the same if the value is computed again
    after a crash, so `compute` can use it to make its effect idempotent; outside a
    flow it is `None`.
    """
    ctx = context.current_run()
    if ctx is None:
        return compute(None)
    check_aborted(ctx)
    key = context.current_scope().next_key()
    recorded = ctx.journal.decide(key, name, StepKind.VALUE, "")
    if recorded is not None:
        return replay(recorded)  # type: ignore[no-any-return]
    entry = open_entry(ctx, key=key, name=name, kind=StepKind.VALUE, digest="", started=time.time())
    value = compute(f"{ctx.run.id}/{key}")
    _save(ctx, settle(entry, value, failed=False))
    return value


# -- async driver --------------------------------------------------------------------------


async def call_task_async(
    task: spec.TaskSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Async version of `call_task`."""
    ctx = context.current_run()
    if ctx is None:
        return await _invoke_with_retries_async(_Call(None, task, "", "", args, kwargs))
    return await _run_step_async(ctx, task, context.current_scope().next_key(), args, kwargs)


async def _run_step_async(
    ctx: context.RunContext,
    task: spec.TaskSpec[Any, Any],
    key: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    inline: bool = True,
) -> Any:
    """Async version of `_run_step`."""
    call = _prepare(ctx, task, key, args, kwargs)
    if isinstance(call, records.StepRecord):
        return replay(call)
    cache = await _cached_async(ctx, call)
    if isinstance(cache, records.StepRecord):
        return replay(cache)
    refused = _waits_refused(ctx, task, inline)
    with context.step_scope(
        key, call.label, task.log_prints, is_async=task.is_async, waits_refused=refused
    ):
        try:
            value = await _invoke_with_retries_async(call)
        except Exception as exc:
            await offload(_save, ctx, call.failed(exc))
            raise
    step = _outcome(call, value)
    await offload(_save, ctx, step)
    if cache is not None:
        await offload(caching.remember, ctx, cache, step)
    return replay(step) if step.status is StepStatus.FAILED else value


async def _cached_async(
    ctx: context.RunContext, call: _Call
) -> caching.Plan | records.StepRecord | None:
    """Async version of `_cached`."""
    try:
        plan = _cache_plan(ctx, call)
    except errors.CacheKeyError as exc:
        await offload(_save, ctx, call.failed(exc))
        raise
    entry = None if plan is None else await offload(caching.look_up, ctx, plan)
    if entry is None:
        return plan
    step = caching.hit_step(call.opened(), entry)
    await offload(_save, ctx, step)
    return step


async def _invoke_with_retries_async(call: _Call) -> Any:
    while True:
        call.tries += 1
        try:
            if call.ctx is None:
                return await _invoke_async(call.task, call.args, call.kwargs)
            async with limits.task_slots_async(call.ctx.host, call.task.tags, call.key):
                return await _invoke_async(call.task, call.args, call.kwargs)
        except Exception as exc:
            delay = call.next_delay(exc)
            if delay is None:
                raise
            await asyncio.sleep(delay)


async def _invoke_async(
    task: spec.TaskSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    remote = task_runners.remote_call()
    if remote is not None:
        # The cluster computes; this loop only waits for the answer off its thread.
        return await asyncio.to_thread(_invoke, task, args, kwargs, remote)
    if not task.is_async:
        return _invoke(task, args, kwargs)
    seconds = task.timeout_seconds
    if seconds is None:
        return await task.fn(*args, **kwargs)
    timeout = _task_timeout(task.name, seconds)
    return await await_with_deadline(task.fn(*args, **kwargs), seconds, timeout)


def run_coroutine_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from sync code.

    When this thread already runs an event loop, a helper thread runs a new one.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with cf.ThreadPoolExecutor(1, "tarry-coroutine") as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coro).result()
