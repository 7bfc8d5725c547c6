"""Waits: a flow stops for a person, an event or a time, and resumes where it stopped.

A wait is a journal entry. When a flow reaches one, the run turns Waiting and the
thread or coroutine parks (it is *resident*): an answer wakes it at once. After
`resident_seconds`, or at once for `suspend_flow_run`, or when too many runs are
resident, the run is *suspended*: its stack unwinds, it holds no thread and no
memory, and it is re-executed by replay when the answer or deadline arrives; the
replay finds the answer in the journal and goes on from there.

These are the verbs flows call; how a wait is stored, parked and resumed is
`tarry.engine.waiting`, whose `Input`, `Timer` and `WaitSpec` are importable from here.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeGuard

from tarry import errors, service
from tarry.engine import answers, context, steps, waiting
from tarry.engine.input_spec import ApprovalAnswer  # noqa: F401 - stored by this path
from tarry.engine.waiting import Input, Seconds, Timer, WaitSpec
from tarry.outbound import targets

__all__ = [
    "Input",
    "Timer",
    "WaitSpec",
    "apause_flow_run",
    "approve",
    "aresume_flow_run",
    "asuspend_flow_run",
    "pause_flow_run",
    "resume_flow_run",
    "sleep",
    "suspend_flow_run",
    "wait_any",
    "wait_for_input",
]


def pause_flow_run(
    wait_for_input: Any = None,
    timeout: Seconds | None = 3600,
    poll_interval: float | None = None,
    key: str | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
    title: str | None = None,
) -> Any:
    """Pause the run until someone answers (or resumes it), and return the answer.

    The run stays in memory for `resident_seconds`, then leaves it; either way the
    answer resumes it exactly here. Awaitable in `async def` flows.

    Args:
        wait_for_input: What to ask for: a `RunInput` subclass (or
            `.with_initial_data(...)` of one), a pydantic model, or a plain type
            (`str`, `int`, `float`, `bool`, an `Enum`, a `Literal`), whose value is
            returned unwrapped. `None` waits for a bare resume.
        timeout: Seconds (or a timedelta) before `on_timeout` applies; `None` waits
            for ever.
        poll_interval: Accepted for Prefect compatibility; tarry does not poll.
        key: The wait's name, to answer it before the run reaches it. A key pauses
            once, as in Prefect: a later pause (or suspend) of the run with a key an
            earlier one used returns that one's answer at once, without waiting.
        on_timeout: `"fail"` (raise `WaitTimeout`, the default), `"default"` (return
            the initial data), or a value to return.
        notify: Whom to tell that the run waits, with links to answer: a mail
            address, `tarry.notify.Email(...)`, a webhook URL or
            `tarry.notify.Webhook(...)`, or a list; the flow's `notify=` when omitted.
        title: The heading of the question's form, inbox row and mail, stored with
            its input; without one: the description's heading, the key, or the
            flow's name. Only for a wait that asks for input (else `TypeError`).

    Returns:
        The validated answer: a model instance, the plain value, or `None`.

    Raises:
        errors.WaitTimeout: Nobody answered in time and `on_timeout="fail"`.
    """
    del poll_interval
    alt = waiting.Alt.of(
        Input(key or "pause", wait_for_input, timeout, on_timeout, notify, title=title)
    )
    return waiting.value_of(
        waiting.dispatch("pause_flow_run", key or "pause", [alt], False, once=key is not None)
    )


async def apause_flow_run(
    wait_for_input: Any = None,
    timeout: Seconds | None = 3600,
    poll_interval: float | None = None,
    key: str | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
    title: str | None = None,
) -> Any:
    """Async version of `pause_flow_run`, for `async def` flows.

    Raises:
        errors.TarryError: The flow calling it is not `async def`.
        errors.WaitTimeout: Nobody answered in time and `on_timeout="fail"`.
    """
    _check_async_flow("apause_flow_run", "pause_flow_run")
    return await pause_flow_run(
        wait_for_input, timeout, poll_interval, key, on_timeout, notify=notify, title=title
    )


def suspend_flow_run(
    wait_for_input: Any = None,
    flow_run_id: str | None = None,
    timeout: Seconds | None = 3600,
    key: str | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
    title: str | None = None,
) -> Any:
    """Like `pause_flow_run`, but the run leaves memory at once.

    With `flow_run_id` naming another run (from outside runs, or from another flow),
    that run is suspended instead, as in Prefect: a run waiting in this process
    leaves memory now and resumes, by replay, when its own wait is answered. It
    returns `None` then (awaitable in async code, as `resume_flow_run`), and a flow
    that does so records it, so its replay does not suspend the run again.

    Args:
        wait_for_input: As for `pause_flow_run` (only for the run itself).
        flow_run_id: Another run to suspend; `None` (or the current run's id) for
            the current run.
        timeout: As for `pause_flow_run`; for another run, its wait keeps its own.
        key: As for `pause_flow_run`; for another run, its wait keeps its own.
        on_timeout: As for `pause_flow_run`.
        notify: As for `pause_flow_run`.
        title: As for `pause_flow_run`.

    Returns:
        The validated answer, once the run is resumed and replayed to this point;
        `None` for another run.

    Raises:
        errors.NotSupported: `wait_for_input` is given with another run's id: a run
            waits for the input its own code asks for.
        errors.NotWaiting: The other run is not waiting here (it runs, is Pending,
            or waits in another process, which suspends it on its own).
        errors.RunEnded: The other run has ended.
        errors.RunNotFound: No run has that id.
    """
    if _is_another_run(flow_run_id):
        if wait_for_input is not None:
            raise errors.NotSupported(
                "suspend_flow_run(wait_for_input=..., flow_run_id=...) of another run: a run "
                "waits for the input its own code asks for; suspend it without wait_for_input"
            )
        return _suspend_other(flow_run_id)
    waiting.flow_context("suspend_flow_run")
    alt = waiting.Alt.of(
        Input(key or "suspend", wait_for_input, timeout, on_timeout, notify, title=title)
    )
    return waiting.value_of(
        waiting.dispatch("suspend_flow_run", key or "suspend", [alt], True, once=key is not None)
    )


async def asuspend_flow_run(
    wait_for_input: Any = None,
    flow_run_id: str | None = None,
    timeout: Seconds | None = 3600,
    key: str | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
    title: str | None = None,
) -> Any:
    """Async version of `suspend_flow_run`, for `async def` flows.

    Another run may be suspended from any async code.

    Raises:
        errors.TarryError: It suspends the current run, and the flow calling it is not
            `async def`.
        errors.NotWaiting: The other run is not waiting here.
    """
    if _is_another_run(flow_run_id) and context.current_run() is None:
        # Outside runs nothing is journaled: the store is written off the loop.
        return await asyncio.to_thread(suspend_flow_run, wait_for_input, flow_run_id)
    if not _is_another_run(flow_run_id):
        _check_async_flow("asuspend_flow_run", "suspend_flow_run")
    return await suspend_flow_run(
        wait_for_input, flow_run_id, timeout, key, on_timeout, notify=notify, title=title
    )


def _is_another_run(flow_run_id: str | None) -> TypeGuard[str]:
    """Whether `flow_run_id` names a run other than the one executing here."""
    current = context.current_run()
    return flow_run_id is not None and (current is None or flow_run_id != current.run.id)


def _suspend_other(run_id: str) -> Any:
    """Suspend another run: at once, or as an awaitable in async code (see `resume_flow_run`)."""
    in_flow = context.current_run() is not None
    loop = _async_caller_loop()
    if loop is None:
        if in_flow:
            _suspend_recorded(run_id)
        else:
            service.suspend_run(run_id)
        return None
    here = contextvars.copy_context()
    if in_flow:
        return _suspend_recorded_async(here, run_id)
    return loop.run_in_executor(None, here.run, service.suspend_run, run_id)


def _suspend_recorded(run_id: str) -> None:
    # A flow's replay must not suspend the run again (it may be long resumed).
    steps.record_value(f"suspend_flow_run:{run_id}", lambda: _suspended(run_id))


def _suspended(run_id: str) -> None:
    service.suspend_run(run_id)


async def _suspend_recorded_async(here: contextvars.Context, run_id: str) -> None:
    # The journal key is taken when this is awaited, in the flow's own order.
    await steps.offload(here.run, _suspend_recorded, run_id)


def _check_async_flow(what: str, sync_twin: str) -> None:
    """Raise when an async twin is called from a sync flow, whose waits block instead.

    Raises:
        errors.TarryError: The current flow is not `async def` (or there is none).
    """
    waiting.flow_context(what)
    if not context.current_scope().is_async:
        raise errors.TarryError(
            f"{what} is for async def flows and tasks; sync code calls {sync_twin}"
        )


def wait_for_input(
    name: str,
    expected_type: Any,
    timeout: Seconds | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
    title: str | None = None,
) -> Any:
    """Wait for a named input (Flyte's `wait_for_input`) and return its value.

    Args:
        name: The input's name; answers may be sent before the run gets here.
        expected_type: As `wait_for_input` of `pause_flow_run`.
        timeout: Seconds or a timedelta; `None` waits for ever.
        on_timeout: As for `pause_flow_run`.
        notify: As for `pause_flow_run`.
        title: As for `pause_flow_run`.

    Returns:
        The validated value.
    """
    alt = waiting.Alt.of(Input(name, expected_type, timeout, on_timeout, notify, title=title))
    return waiting.value_of(
        waiting.dispatch("wait_for_input", f"input:{name}", [alt], suspend_now=False)
    )


def approve(
    value: Any,
    name: str,
    timeout: Seconds | None = None,
    notify: targets.Notify = None,
    *,
    title: str | None = None,
) -> Any:
    """Wait until `name` is approved, then return `value` (Flyte's `approve`).

    The answer is a bool: `True` approves, `False` rejects; it may carry a
    `comment` (`{"value": False, "comment": "too dear"}`), kept with the stored
    answer. Forms show Approve and Reject buttons and a comment field; with
    `notify=`, each recipient gets Approve and Reject links.

    Args:
        value: What to return once approved.
        name: The approval's name; answers may be sent before the run gets here.
        timeout: Seconds or a timedelta; `None` waits for ever.
        notify: As for `pause_flow_run`.
        title: The heading of its form and mail; `"Approve: <name>"` without one.

    Returns:
        `value`.

    Raises:
        errors.ApprovalRejected: The answer was `False`.
        errors.WaitTimeout: Nobody answered in time.
    """
    alt = waiting.Alt.approval(Input(name, bool, timeout, notify=notify, title=title))
    ctx = waiting.flow_context("approve")
    result = waiting.dispatch("approve", f"approve:{name}", [alt], suspend_now=False)
    if asyncio.iscoroutine(result):
        return _approved_async(ctx, name, value, result)
    return _approved(ctx, name, value, result[1])


def _approved(ctx: context.RunContext, name: str, value: Any, answer: Any) -> Any:
    if answer is not True:
        raise errors.ApprovalRejected(ctx.run.id, name)
    return value


async def _approved_async(
    ctx: context.RunContext, name: str, value: Any, pending: Coroutine[Any, Any, Any]
) -> Any:
    return _approved(ctx, name, value, (await pending)[1])


def sleep(duration: Seconds) -> Any:
    """Wait durably: the run may leave memory and is woken when the time comes.

    Args:
        duration: Seconds or a timedelta.
    """
    timer = waiting.Alt.of(Timer(duration, "sleep"))
    return waiting.value_of(waiting.dispatch("sleep", "sleep", [timer], suspend_now=False))


def wait_any(*waits: WaitSpec) -> Any:
    """Wait for the first of several waits; the others are cancelled for good.

    Args:
        *waits: `Input(...)` and `Timer(...)` specs.

    Returns:
        `(spec, value)`: the spec that won and its value (`None` for a timer).
    """
    if not waits:
        raise ValueError("wait_any needs at least one wait")
    alts = [waiting.Alt.of(w) for w in waits]
    label = "any:" + "|".join(alt.name for alt in alts)
    result = waiting.dispatch("wait_any", label, alts, suspend_now=False)
    if asyncio.iscoroutine(result):
        return _winner_async(waits, result)
    return waits[result[0]], result[1]


async def _winner_async(
    waits: tuple[WaitSpec, ...], pending: Coroutine[Any, Any, tuple[int, Any]]
) -> tuple[WaitSpec, Any]:
    index, value = await pending
    return waits[index], value


def resume_flow_run(flow_run_id: str, run_input: Any = None) -> Any:
    """Answer a run's open wait, from anywhere (Prefect's `resume_flow_run`).

    As in Prefect, it is awaitable in async code: in an `async def` flow, or
    outside flows where an event loop runs in the thread, it returns an awaitable
    of `None`. The answer is given even when that awaitable is never awaited
    (the work starts at once on a helper thread); awaiting it raises its errors.
    In a sync flow, and in code with no running loop, it answers and returns `None`.

    Args:
        flow_run_id: The run.
        run_input: The answer; `None` accepts the form's initial data (or resumes a
            bare pause).

    Returns:
        `None`, or in async code an awaitable of `None`.

    Raises:
        errors.InputInvalid: The answer does not fit; the run keeps waiting.
        errors.AlreadyAnswered: Someone answered first.
        errors.NotWaiting: The run is not waiting for input.
    """
    loop = _async_caller_loop()
    if loop is None:
        _resume(flow_run_id, run_input)
        return None
    here = contextvars.copy_context()
    return loop.run_in_executor(None, here.run, _resume, flow_run_id, run_input)


async def aresume_flow_run(flow_run_id: str, run_input: Any = None) -> None:
    """Async version of `resume_flow_run`: the store is written off the event loop.

    Raises:
        errors.InputInvalid: The answer does not fit; the run keeps waiting.
        errors.AlreadyAnswered: Someone answered first.
        errors.NotWaiting: The run is not waiting for input.
    """
    await asyncio.to_thread(_resume, flow_run_id, run_input)


def _resume(flow_run_id: str, run_input: Any) -> None:
    answers.submit_input(flow_run_id, run_input, channel="python")


def _async_caller_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop when the caller is async code (Prefect's rule), else `None`.

    In a run, what counts is the flow being `async def`, not the thread having a
    loop: a sync flow called from a notebook must not get an awaitable it ignores.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    if context.current_run() is None:
        return loop
    return loop if context.current_scope().is_async else None
