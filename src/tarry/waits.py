"""Waits: a flow stops for a person, an event or a time, and resumes where it stopped.

A wait is a journal entry. When a flow reaches one, the run turns Waiting and the
thread or coroutine parks (it is *resident*): an answer wakes it at once. After
`resident_seconds`, or at once for `suspend_flow_run`, or when too many runs are
resident, the run is *suspended*: its stack unwinds, it holds no thread and no
memory, and it is re-executed by replay when the answer or deadline arrives; the
replay finds the answer in the journal and goes on from there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Coroutine
from typing import Any

from tarry import answers, context, errors, serialization, steps, watcher
from tarry import hub as hub_module
from tarry import input as input_module
from tarry.notify import outbox as notify_outbox
from tarry.notify import targets
from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus
from tarry.storage import base

__all__ = [
    "Input",
    "Timer",
    "WaitSpec",
    "approve",
    "pause_flow_run",
    "resume_flow_run",
    "sleep",
    "suspend_flow_run",
    "wait_any",
    "wait_for_input",
]

_WAIT_NAMESPACE = uuid.UUID("0b6f3c57-66a2-4f0e-9d3c-2b7f1f1b9a41")
Seconds = float | dt.timedelta


def _seconds(value: Seconds | None) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if seconds < 0:
        raise ValueError(f"a wait's timeout must not be negative, not {seconds:g}")
    return seconds


def _timeout_outcome(on_timeout: Any) -> dict[str, Any]:
    if on_timeout in ("fail", "default"):
        return {"kind": on_timeout}
    return {"kind": "value", "value": serialization.encode(on_timeout)}


@dataclasses.dataclass(frozen=True)
class Input:
    """Wait spec for `wait_any`: an input named `name`, of `expected_type`.

    Args:
        name: The name answers address it by.
        expected_type: A `RunInput` or pydantic model, or a plain type (`str`, `int`,
            `float`, `bool`, an `Enum`, a `Literal`); `None` for a bare go-ahead.
        timeout: Seconds (or a timedelta) before `on_timeout` applies.
        on_timeout: `"fail"` (raise `WaitTimeout`), `"default"` (the initial data),
            or a value to return.
        notify: Whom to tell that the question waits (see `tarry.notify`); the
            flow's `notify=` when omitted.
    """

    name: str
    expected_type: Any = None
    timeout: Seconds | None = None
    on_timeout: Any = "fail"
    notify: targets.Notify = None


@dataclasses.dataclass(frozen=True)
class Timer:
    """Wait spec for `wait_any`: a point in time, `duration` after the wait begins.

    Args:
        duration: Seconds or a timedelta.
        name: How the journal and the UI name it.
    """

    duration: Seconds
    name: str = "timer"


WaitSpec = Input | Timer


@dataclasses.dataclass(frozen=True)
class _Alt:
    """One alternative of a wait, as stored."""

    kind: WaitKind
    name: str
    spec: input_module.InputSpec | None
    seconds: float | None
    on_timeout: dict[str, Any]
    message_filter: str | None = None
    """For a MESSAGE wait: which messages it takes (`tarry.storage.rules.message_filter`)."""
    notify: tuple[targets.Target, ...] | None = None
    """For an INPUT wait: whom to tell it opened (`None`: as the flow says)."""

    @classmethod
    def message(cls, seconds: float | None, message_filter: str) -> _Alt:
        """A receive: the next message that passes `message_filter`, or `None` at the deadline."""
        return cls(WaitKind.MESSAGE, "message", None, seconds, {"kind": "fire"}, message_filter)

    @classmethod
    def of(cls, wait: WaitSpec) -> _Alt:
        if isinstance(wait, Timer):
            return cls(WaitKind.TIMER, wait.name, None, _seconds(wait.duration), {"kind": "fire"})
        spec = None if wait.expected_type is None else input_module.input_spec(wait.expected_type)
        outcome = _timeout_outcome(wait.on_timeout)
        notify = None if wait.notify is None else targets.targets_of(wait.notify)
        seconds = _seconds(wait.timeout)
        return cls(WaitKind.INPUT, wait.name, spec, seconds, outcome, notify=notify)

    def value(self, stored: dict[str, Any]) -> Any:
        """What the flow gets for this alternative's stored outcome."""
        if stored.get("given"):
            return serialization.decode(stored["value"])
        if self.kind is WaitKind.MESSAGE:
            return stored["value"]  # the message with its metadata; None at the deadline
        if self.kind is WaitKind.TIMER or self.spec is None:
            return None
        return input_module.to_value(self.spec, stored["value"])


_spec_json_cache: dict[int, tuple[input_module.InputSpec, str]] = {}


def _spec_json(spec: input_module.InputSpec) -> str:
    # Specs are cached per type, so their JSON is too (keyed by identity; the
    # entry keeps the spec alive so the id stays its own).
    found = _spec_json_cache.get(id(spec))
    if found is None or found[0] is not spec:
        found = (spec, json.dumps(spec.to_json()))
        _spec_json_cache[id(spec)] = found
    return found[1]


def _outcome(alts: list[_Alt], step: base.StepRecord) -> tuple[int, Any]:
    if step.status is StepStatus.FAILED:
        raise serialization.error_from_json(serialization.loads(step.error))
    stored = json.loads(step.result or "{}")
    index = int(stored["alt"])
    return index, alts[index].value(stored)


class _Session:
    """One wait being waited on: its records, and the store calls both drivers share."""

    def __init__(self, ctx: context.RunContext, key: str, label: str, alts: list[_Alt]) -> None:
        self.ctx = ctx
        self.hst = ctx.host
        self.key = key
        self.label = label
        self.alts = alts
        now = self.hst.clock.now()
        self.rows = [self._record(i, alt, now) for i, alt in enumerate(alts)]
        self.crowded = False
        """Set when it parks: the resident limit was reached, so it leaves memory at once."""

    def park(self, loop: asyncio.AbstractEventLoop | None = None) -> hub_module.Parked:
        """Register this waiter with the hub, before its wait is stored.

        An answer given right after the wait is stored must find its waiter.
        """
        limit = self.hst.settings.max_resident_runs
        parked = self.hst.hub.park(self.ctx.run.id, self.wait_ids, loop, max_resident=limit)
        self.crowded = parked.crowded
        return parked

    def _record(self, index: int, alt: _Alt, now: float) -> base.WaitRecord:
        run, attempt = self.ctx.run, self.ctx.journal.attempt
        wait_id = uuid.uuid5(_WAIT_NAMESPACE, f"{run.id}/{self.key}/{attempt}/{index}")
        return base.WaitRecord(
            id=str(wait_id),
            run_id=run.id,
            step_key=self.key,
            kind=alt.kind,
            name=alt.name,
            status=WaitStatus.OPEN,
            created_at=now,
            alt=index,
            attempt=attempt,
            label=self.label,
            on_timeout=json.dumps(alt.on_timeout),
            spec=alt.message_filter or (_spec_json(alt.spec) if alt.spec else None),
            deadline=None if alt.seconds is None else now + alt.seconds,
        )

    @property
    def wait_ids(self) -> list[str]:
        return [row.id for row in self.rows]

    @property
    def deadline(self) -> float | None:
        deadlines = [row.deadline for row in self.rows if row.deadline is not None]
        return min(deadlines) if deadlines else None

    def releases_at_once(self, suspend_now: bool) -> bool:
        """Whether the run leaves memory as soon as its wait is stored.

        Then one transaction stores the wait and releases the lease. Only a
        top-level run can: a child's ancestors must be released with it.
        """
        at_once = suspend_now or self.crowded or self.hst.settings.resident_seconds <= 0
        return at_once and self.ctx.parent is None

    def open(self, release: bool) -> base.StepRecord | None:
        """Store the waits (or find them again on replay); the outcome if already known.

        Raises:
            errors.RunSuspended: `release` was asked and the run left memory.
        """
        change = base.StateChange(
            RunState.WAITING,
            at=self.hst.clock.now(),
            reason=f"waiting for {self.label}",
            require_owner=self.hst.owner,
            lease_owner=None if release else base.UNSET,
            lease_expires_at=None if release else base.UNSET,
        )
        self.rows = self.hst.store.open_waits(self.rows, change)
        for row, alt in zip(self.rows, self.alts, strict=True):
            if alt.spec is not None:
                self.hst.hub.keep_spec(row.id, alt.spec)
        if any(row.status is not WaitStatus.OPEN for row in self.rows):
            return self.stored_outcome()
        self._notify()
        # With the lease released, an early answer makes the run Pending: it is
        # replayed like any suspended run, so leave memory either way.
        answered = any(answers.consume_early(self.hst, row) for row in self._open_inputs())
        answered = answered or any(
            answers.fail_if_asked_the_ended(self.hst, row)
            for row in self.rows
            if row.kind is WaitKind.MESSAGE
        )
        if release:
            raise self.suspended(self.ctx.chain_ids())
        return self.stored_outcome() if answered else None

    def _notify(self) -> None:
        """Queue the notices of the open input waits (again on replay: a no-op)."""
        for row, alt in zip(self.rows, self.alts, strict=True):
            to = self.ctx.flow.notify if alt.notify is None else alt.notify
            if row.kind is WaitKind.INPUT and to:
                notify_outbox.queue_wait_notices(self.hst, self.ctx.run, row, to)

    def suspended(self, chain: tuple[str, ...]) -> errors.RunSuspended:
        """The signal that unwinds the run's stack."""
        return errors.RunSuspended(self.ctx.run.id, f"waiting for {self.label}", chain)

    def _open_inputs(self) -> list[base.WaitRecord]:
        return [row for row in self.rows if row.kind is WaitKind.INPUT]

    def stored_outcome(self) -> base.StepRecord:
        """The journal entry the close of this wait wrote."""
        step = self.hst.store.get_step(self.ctx.run.id, self.key)
        if step is not None and step.flow_attempt == self.ctx.journal.attempt:
            return step
        raise errors.StoreError(f"run {self.ctx.run.id}: wait {self.key} closed without outcome")

    def fire_due(self) -> base.StepRecord:
        """Apply the timeout of the alternative whose deadline passed first."""
        due = min((r for r in self.rows if r.deadline is not None), key=lambda r: r.deadline or 0)
        answers.fire_timeout(self.hst, due)
        return self.stored_outcome()

    def suspend(self) -> base.StepRecord:
        """Release the run (and its ancestors) unless the wait closed meanwhile.

        Raises:
            errors.RunSuspended: The run left memory.
        """
        chain = self.ctx.chain_ids()
        reason = f"suspended while waiting for {self.label}"
        if self.hst.store.suspend_runs(
            chain, self.wait_ids, owner=self.hst.owner, at=self.hst.clock.now(), reason=reason
        ):
            raise self.suspended(chain)
        return self.stored_outcome()

    def resumed(self, step: base.StepRecord) -> None:
        """Record the outcome; the close already put the run back to Running."""
        self.ctx.journal.record(step)
        self.hst.hub.forget_specs(self.wait_ids)

    def next_move(self, now: float, window_end: float | None, *, asked: bool = False) -> str:
        """`fire` a due timeout, `suspend` (window over, or `asked`), or `wait` (pure)."""
        deadline = self.deadline
        if deadline is not None and now >= deadline:
            return "fire"
        if asked or (window_end is not None and now >= window_end):
            return "suspend"
        return "wait"

    def window_end(self, suspend_now: bool) -> float:
        """When a resident waiter gives its thread back."""
        if suspend_now or self.crowded:
            return self.hst.clock.now()
        return self.hst.clock.now() + self.hst.settings.resident_seconds

    def block_for(self, window_end: float) -> float | None:
        """How long to park before looking again."""
        deadline = self.deadline
        until = window_end if deadline is None else min(deadline, window_end)
        return self.hst.clock.block_for(until)


# -- sync driver ---------------------------------------------------------------------------


def _wait(ctx: context.RunContext, label: str, alts: list[_Alt], suspend_now: bool) -> Any:
    key = context.current_scope().next_key()
    recorded = ctx.journal.decide(key, label, StepKind.WAIT, "")
    if recorded is not None:
        return _outcome(alts, recorded)
    session = _Session(ctx, key, label, alts)
    step = _park(session, suspend_now)
    session.resumed(step)
    return _outcome(alts, step)


def _park(session: _Session, suspend_now: bool) -> base.StepRecord:
    hst = session.hst
    watcher.ensure_watcher(hst)
    parked = session.park()
    try:
        known = session.open(session.releases_at_once(suspend_now))
        if known is not None:
            return known
        window_end = session.window_end(suspend_now)
        while parked.outcome is None:
            steps.check_aborted(session.ctx)
            move = session.next_move(hst.clock.now(), window_end, asked=parked.suspend_asked)
            if move == "fire":
                return session.fire_due()
            if move == "suspend":
                return session.suspend()
            parked.signal.wait(session.block_for(window_end))
            parked.signal.clear()
        return parked.outcome
    finally:
        hst.hub.unpark(parked)


# -- async driver --------------------------------------------------------------------------


async def _wait_async(
    ctx: context.RunContext, label: str, alts: list[_Alt], suspend_now: bool
) -> Any:
    """Async version of `_wait`."""
    key = context.current_scope().next_key()
    recorded = ctx.journal.decide(key, label, StepKind.WAIT, "")
    if recorded is not None:
        return _outcome(alts, recorded)
    session = _Session(ctx, key, label, alts)
    step = await _park_async(session, suspend_now)
    session.resumed(step)
    return _outcome(alts, step)


async def _park_async(session: _Session, suspend_now: bool) -> base.StepRecord:
    """Async version of `_park`."""
    hst = session.hst
    watcher.ensure_watcher(hst)
    parked = session.park(asyncio.get_running_loop())
    try:
        known = await steps.offload(session.open, session.releases_at_once(suspend_now))
        if known is not None:
            return known
        window_end = session.window_end(suspend_now)
        while parked.outcome is None:
            steps.check_aborted(session.ctx)
            move = session.next_move(hst.clock.now(), window_end, asked=parked.suspend_asked)
            if move == "fire":
                return await steps.offload(session.fire_due)
            if move == "suspend":
                return await steps.offload(session.suspend)
            await parked.signal.wait_async(session.block_for(window_end))
            parked.signal.clear()
        return parked.outcome
    finally:
        hst.hub.unpark(parked)


# -- the public waits ----------------------------------------------------------------------


def _flow_context(what: str) -> context.RunContext:
    ctx = context.current_run()
    if ctx is None:
        raise errors.TarryError(f"{what} can only be called inside a flow run")
    if context.current_scope().step_key is not None:
        raise errors.TarryError(
            f"{what} was called inside a task; waits belong in the flow body, between tasks"
        )
    steps.check_aborted(ctx)
    return ctx


def _dispatch(what: str, label: str, alts: list[_Alt], suspend_now: bool) -> Any:
    ctx = _flow_context(what)
    if ctx.flow.is_async:
        return _wait_async(ctx, label, alts, suspend_now)
    return _wait(ctx, label, alts, suspend_now)


async def _second(pair: Coroutine[Any, Any, tuple[int, Any]]) -> Any:
    return (await pair)[1]


def _value_of(result: Any) -> Any:
    if asyncio.iscoroutine(result):
        return _second(result)
    return result[1]


def receive_message(seconds: float | None, message_filter: str) -> Any:
    """Wait for the next message to this run that passes `message_filter`.

    The engine of `tarry.messaging.receive_input`: one journal entry per message.

    Returns:
        The message as `base.message_value` stores it, or `None` at the deadline
        (awaitable in `async def` flows).
    """
    alt = _Alt.message(seconds, message_filter)
    return _value_of(_dispatch("receive_input", "message", [alt], suspend_now=False))


def pause_flow_run(
    wait_for_input: Any = None,
    timeout: Seconds | None = 3600,
    poll_interval: float | None = None,
    key: str | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
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
        key: The wait's name, to answer it before the run reaches it.
        on_timeout: `"fail"` (raise `WaitTimeout`, the default), `"default"` (return
            the initial data), or a value to return.
        notify: Whom to tell that the run waits, with links to answer: a mail
            address, `tarry.notify.Email(...)`, a webhook URL or
            `tarry.notify.Webhook(...)`, or a list; the flow's `notify=` when omitted.

    Returns:
        The validated answer: a model instance, the plain value, or `None`.

    Raises:
        errors.WaitTimeout: Nobody answered in time and `on_timeout="fail"`.
    """
    del poll_interval
    alt = _Alt.of(Input(key or "pause", wait_for_input, timeout, on_timeout, notify))
    return _value_of(_dispatch("pause_flow_run", key or "pause", [alt], suspend_now=False))


def suspend_flow_run(
    wait_for_input: Any = None,
    flow_run_id: str | None = None,
    timeout: Seconds | None = 3600,
    key: str | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
) -> Any:
    """Like `pause_flow_run`, but the run leaves memory at once.

    Args:
        wait_for_input: As for `pause_flow_run`.
        flow_run_id: Must be the current run (or `None`); a run suspends itself.
        timeout: As for `pause_flow_run`.
        key: As for `pause_flow_run`.
        on_timeout: As for `pause_flow_run`.
        notify: As for `pause_flow_run`.

    Returns:
        The validated answer, once the run is resumed and replayed to this point.

    Raises:
        errors.TarryError: `flow_run_id` names another run.
    """
    ctx = _flow_context("suspend_flow_run")
    if flow_run_id is not None and flow_run_id != ctx.run.id:
        raise errors.TarryError(
            "suspend_flow_run suspends the run that calls it; to stop another run, cancel it"
        )
    alt = _Alt.of(Input(key or "suspend", wait_for_input, timeout, on_timeout, notify))
    return _value_of(_dispatch("suspend_flow_run", key or "suspend", [alt], suspend_now=True))


def wait_for_input(
    name: str,
    expected_type: Any,
    timeout: Seconds | None = None,
    on_timeout: Any = "fail",
    *,
    notify: targets.Notify = None,
) -> Any:
    """Wait for a named input (Flyte's `wait_for_input`) and return its value.

    Args:
        name: The input's name; answers may be sent before the run gets here.
        expected_type: As `wait_for_input` of `pause_flow_run`.
        timeout: Seconds or a timedelta; `None` waits for ever.
        on_timeout: As for `pause_flow_run`.
        notify: As for `pause_flow_run`.

    Returns:
        The validated value.
    """
    alt = _Alt.of(Input(name, expected_type, timeout, on_timeout, notify))
    return _value_of(_dispatch("wait_for_input", f"input:{name}", [alt], suspend_now=False))


def approve(
    value: Any, name: str, timeout: Seconds | None = None, notify: targets.Notify = None
) -> Any:
    """Wait until `name` is approved, then return `value` (Flyte's `approve`).

    The answer is a bool: `True` approves, `False` rejects. With `notify=`, each
    recipient gets Approve and Reject links.

    Raises:
        errors.ApprovalRejected: The answer was `False`.
        errors.WaitTimeout: Nobody answered in time.
    """
    alt = _Alt.of(Input(name, bool, timeout, notify=notify))
    ctx = _flow_context("approve")
    result = _dispatch("approve", f"approve:{name}", [alt], suspend_now=False)
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
    timer = _Alt.of(Timer(duration, "sleep"))
    return _value_of(_dispatch("sleep", "sleep", [timer], suspend_now=False))


def wait_any(*waits: WaitSpec) -> Any:
    """Wait for the first of several waits; the others are cancelled for good.

    Args:
        *waits: `Input(...)` and `Timer(...)` specs.

    Returns:
        `(spec, value)`: the spec that won and its value (`None` for a timer).
    """
    if not waits:
        raise ValueError("wait_any needs at least one wait")
    alts = [_Alt.of(w) for w in waits]
    label = "any:" + "|".join(alt.name for alt in alts)
    result = _dispatch("wait_any", label, alts, suspend_now=False)
    if asyncio.iscoroutine(result):
        return _winner_async(waits, result)
    return waits[result[0]], result[1]


async def _winner_async(
    waits: tuple[WaitSpec, ...], pending: Coroutine[Any, Any, tuple[int, Any]]
) -> tuple[WaitSpec, Any]:
    index, value = await pending
    return waits[index], value


def resume_flow_run(flow_run_id: str, run_input: Any = None) -> None:
    """Answer a run's open wait, from anywhere (Prefect's `resume_flow_run`).

    Args:
        flow_run_id: The run.
        run_input: The answer; `None` accepts the form's initial data (or resumes a
            bare pause).

    Raises:
        errors.InputInvalid: The answer does not fit; the run keeps waiting.
        errors.AlreadyAnswered: Someone answered first.
        errors.NotWaiting: The run is not waiting for input.
    """
    answers.submit_input(flow_run_id, run_input, channel="python")
