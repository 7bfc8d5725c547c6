"""A wait's life: open, park, suspend, resume; the `Input` and `Timer` specs.

`tarry.waits` tells what a wait is to a flow (resident, then suspended, then found
in the journal by replay) and holds the verbs flows call, which call `dispatch` here.
This module opens the wait's journal entry, parks the thread or coroutine on the
hub until an answer or its deadline, suspends the run when it has parked long
enough, and reads the outcome back on resume.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Coroutine
from typing import Any

from tarry import errors, serialization
from tarry import hub as hub_module
from tarry.engine import admission, answers, context, input_spec, offloading, steps, watcher
from tarry.outbound import outbox as notify_outbox
from tarry.outbound import targets
from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus
from tarry.storage import records

__all__ = [
    "Alt",
    "Input",
    "Seconds",
    "Timer",
    "WaitSpec",
    "dispatch",
    "flow_context",
    "receive_message",
    "value_of",
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
        title: The heading of its form, mail and inbox row; without one, the
            description's heading, the name or the flow's name (see `tarry.forms.headings`).
    """

    name: str
    expected_type: Any = None
    timeout: Seconds | None = None
    on_timeout: Any = "fail"
    notify: targets.Notify = None
    title: str | None = None


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
class Alt:
    """One alternative of a wait, as stored."""

    kind: WaitKind
    name: str
    spec: input_spec.InputSpec | None
    seconds: float | None
    on_timeout: dict[str, Any]
    message_filter: str | None = None
    """For a MESSAGE wait: which messages it takes (`tarry.storage.rules.message_filter`)."""
    notify: tuple[targets.Target, ...] | None = None
    """For an INPUT wait: whom to tell it opened (`None`: as the flow says)."""

    @classmethod
    def message(cls, seconds: float | None, message_filter: str) -> Alt:
        """A receive: the next message that passes `message_filter`, or `None` at the deadline."""
        return cls(WaitKind.MESSAGE, "message", None, seconds, {"kind": "fire"}, message_filter)

    @classmethod
    def of(cls, wait: WaitSpec) -> Alt:
        """The alternative a wait spec asks for (its timeout checked, its input described)."""
        if isinstance(wait, Timer):
            return cls(WaitKind.TIMER, wait.name, None, _seconds(wait.duration), {"kind": "fire"})
        spec = _described(wait)
        outcome = _timeout_outcome(wait.on_timeout)
        notify = None if wait.notify is None else targets.targets_of(wait.notify)
        seconds = _seconds(wait.timeout)
        return cls(WaitKind.INPUT, wait.name, spec, seconds, outcome, notify=notify)

    @classmethod
    def approval(cls, wait: Input) -> Alt:
        """The alternative `approve` asks for: an `ApprovalAnswer` (a decision and a comment)."""
        alt = cls.of(dataclasses.replace(wait, expected_type=None, title=None))
        spec = input_spec.approval_spec()
        if wait.title is not None:
            spec = dataclasses.replace(spec, title=wait.title)
        return dataclasses.replace(alt, spec=spec)

    def value(self, stored: dict[str, Any]) -> Any:
        """What the flow gets for this alternative's stored outcome."""
        if stored.get("given"):
            return serialization.decode(stored["value"])
        if self.kind is WaitKind.MESSAGE:
            return stored["value"]  # the message with its metadata; None at the deadline
        if self.kind is WaitKind.TIMER or self.spec is None:
            return None
        return input_spec.to_value(self.spec, stored["value"])


def _described(wait: Input) -> input_spec.InputSpec | None:
    """The input spec of `wait`, with its title.

    Raises:
        TypeError: A title was given for a wait without input: it has no form to head.
    """
    if wait.expected_type is None:
        if wait.title is not None:
            raise TypeError(
                f"wait {wait.name!r}: title= heads the form of a wait that asks for input; "
                "this one takes none (ask for a type, e.g. bool, or call approve)"
            )
        return None
    spec = input_spec.input_spec(wait.expected_type)
    return spec if wait.title is None else dataclasses.replace(spec, title=wait.title)


_spec_json_cache: dict[int, tuple[input_spec.InputSpec, str]] = {}


def _spec_json(spec: input_spec.InputSpec) -> str:
    if spec.title is not None:
        # A titled spec is made per wait: caching it by identity would keep every one.
        return json.dumps(spec.to_json())
    # Specs are cached per type, so their JSON is too (keyed by identity; the
    # entry keeps the spec alive so the id stays its own).
    found = _spec_json_cache.get(id(spec))
    if found is None or found[0] is not spec:
        found = (spec, json.dumps(spec.to_json()))
        _spec_json_cache[id(spec)] = found
    return found[1]


def _outcome(alts: list[Alt], step: records.StepRecord) -> tuple[int, Any]:
    if step.status is StepStatus.FAILED:
        raise serialization.error_from_json(serialization.loads(step.error))
    stored = json.loads(step.result or "{}")
    index = int(stored["alt"])
    return index, alts[index].value(stored)


class _Session:
    """One wait being waited on: its records, and the store calls both drivers share."""

    def __init__(self, ctx: context.RunContext, key: str, label: str, alts: list[Alt]) -> None:
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

    def _record(self, index: int, alt: Alt, now: float) -> records.WaitRecord:
        run, attempt = self.ctx.run, self.ctx.journal.attempt
        wait_id = uuid.uuid5(_WAIT_NAMESPACE, f"{run.id}/{self.key}/{attempt}/{index}")
        return records.WaitRecord(
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

    def open(self, release: bool) -> records.StepRecord | None:
        """Store the waits (or find them again on replay); the outcome if already known.

        Raises:
            errors.RunSuspended: `release` was asked and the run left memory.
        """
        self.rows = self.hst.store.open_waits(self.rows, self.open_change(release))
        return self.after_open(release)

    def open_change(self, release: bool) -> records.StateChange:
        """The run's move to Waiting that opening the waits makes (its lease released or kept)."""
        return records.StateChange(
            RunState.WAITING,
            at=self.hst.clock.now(),
            reason=f"waiting for {self.label}",
            require_owner=self.hst.owner,
            lease_owner=None if release else records.UNSET,
            lease_expires_at=None if release else records.UNSET,
        )

    def may_write_after_open(self) -> bool:
        """Whether `after_open` may write: notices to queue, a receive to check, an early answer.

        Otherwise it only reads, and an event loop can run it in place.
        """
        if any(row.kind is WaitKind.MESSAGE for row in self.rows):
            return True
        for row, alt in zip(self.rows, self.alts, strict=True):
            to = self.ctx.flow.notify if alt.notify is None else alt.notify
            if row.kind is WaitKind.INPUT and to:
                return True
        store = self.hst.store
        return any(store.pending_early_inputs(row.run_id, row.name) for row in self._open_inputs())

    def after_open(self, release: bool) -> records.StepRecord | None:
        """What `open` does once the waits are stored: see `open`."""
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

    def _open_inputs(self) -> list[records.WaitRecord]:
        return [row for row in self.rows if row.kind is WaitKind.INPUT]

    def stored_outcome(self) -> records.StepRecord:
        """The journal entry the close of this wait wrote."""
        step = self.hst.store.get_step(self.ctx.run.id, self.key)
        if step is not None and step.flow_attempt == self.ctx.journal.attempt:
            return step
        raise errors.StoreError(f"run {self.ctx.run.id}: wait {self.key} closed without outcome")

    def fire_due(self) -> records.StepRecord:
        """Apply the timeout of the alternative whose deadline passed first."""
        due = min((r for r in self.rows if r.deadline is not None), key=lambda r: r.deadline or 0)
        answers.fire_timeout(self.hst, due)
        return self.stored_outcome()

    def suspend(self) -> records.StepRecord:
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

    def resumed(self, step: records.StepRecord) -> None:
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


def _recorded(ctx: context.RunContext, label: str, once: bool) -> tuple[str, Any]:
    """This wait's journal key, and its step if the journal holds its outcome already.

    With `once`, a wait whose label an earlier wait of this run used already (a
    reused `pause_flow_run(key=...)`) is not waited again: it has that wait's outcome.
    """
    key = context.current_scope().next_key()
    recorded = ctx.journal.decide(key, label, StepKind.WAIT, "")
    if recorded is None and once:
        recorded = ctx.journal.earlier(StepKind.WAIT, label, key)
    return key, recorded


def _wait(
    ctx: context.RunContext, label: str, alts: list[Alt], suspend_now: bool, once: bool = False
) -> Any:
    key, recorded = _recorded(ctx, label, once)
    if recorded is not None:
        return _outcome(alts, recorded)
    session = _Session(ctx, key, label, alts)
    step = _park(session, suspend_now)
    session.resumed(step)
    return _outcome(alts, step)


def _park(session: _Session, suspend_now: bool) -> records.StepRecord:
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
    ctx: context.RunContext, label: str, alts: list[Alt], suspend_now: bool, once: bool = False
) -> Any:
    """Async version of `_wait`."""
    key, recorded = _recorded(ctx, label, once)
    if recorded is not None:
        return _outcome(alts, recorded)
    session = _Session(ctx, key, label, alts)
    step = await _park_async(session, suspend_now)
    session.resumed(step)
    return _outcome(alts, step)


async def _park_async(session: _Session, suspend_now: bool) -> records.StepRecord:
    """Async version of `_park`."""
    hst = session.hst
    watcher.ensure_watcher(hst)
    parked = session.park(asyncio.get_running_loop())
    try:
        known = await _open_async(session, session.releases_at_once(suspend_now))
        if known is not None:
            return known
        admission.leave_current()  # it waits now: another call may start
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


async def _open_async(session: _Session, release: bool) -> records.StepRecord | None:
    """Async version of `_Session.open`: the write joins the next group commit.

    What follows it runs in place when it only reads a local store (the common
    case on SQLite), else on a store thread.
    """
    store = session.hst.store
    session.rows = await offloading.write(
        store.open_waits, session.rows, session.open_change(release)
    )
    if not offloading.reads_in_place(session.hst.store) or session.may_write_after_open():
        return await steps.offload(session.after_open, release)
    return session.after_open(release)


# -- what the verbs share ------------------------------------------------------------------


def flow_context(what: str) -> context.RunContext:
    """The run a wait belongs to: the current one, not aborted.

    Called inside a task, the wait pauses the run that owns the task (as in
    Prefect), where the task runs in the flow's own line of execution.

    Raises:
        errors.NotInFlowRun: `what` was called outside a flow run (a `RuntimeError`,
            as in Prefect).
        errors.TarryError: `what` was called inside a task that cannot stop its run
            (submitted, with a timeout, or sync in an `async def` flow).
    """
    ctx = context.current_run()
    if ctx is None:
        raise errors.NotInFlowRun(what)
    scope = context.current_scope()
    if scope.step_key is not None and scope.waits_refused is not None:
        raise errors.TarryError(
            f"{what} was called inside task {scope.label}, where it cannot pause the run: "
            f"{scope.waits_refused}"
        )
    steps.check_aborted(ctx)
    return ctx


def dispatch(what: str, label: str, alts: list[Alt], suspend_now: bool, once: bool = False) -> Any:
    """Wait for the first of `alts`: `(index, value)`, or a coroutine of it in `async def` flows.

    With `once`, a wait labelled like an earlier completed wait of the run returns
    that wait's outcome at once (Prefect's pause keys: a key pauses once).
    """
    ctx = flow_context(what)
    if context.current_scope().is_async:
        return _wait_async(ctx, label, alts, suspend_now, once)
    return _wait(ctx, label, alts, suspend_now, once)


async def _second(pair: Coroutine[Any, Any, tuple[int, Any]]) -> Any:
    return (await pair)[1]


def value_of(result: Any) -> Any:
    """The value of `dispatch`'s result (awaitable when the result is)."""
    if asyncio.iscoroutine(result):
        return _second(result)
    return result[1]


def receive_message(seconds: float | None, message_filter: str) -> Any:
    """Wait for the next message to this run that passes `message_filter`.

    The engine of `tarry.messaging.receive_input`: one journal entry per message.

    Returns:
        The message as `rules.message_value` stores it, or `None` at the deadline
        (awaitable in `async def` flows).
    """
    alt = Alt.message(seconds, message_filter)
    return value_of(dispatch("receive_input", "message", [alt], suspend_now=False))


# Stored values name their class by `module:qualname`: these keep the public path they had
# before the engine package, so stores written before and after the move read alike.
Input.__module__ = Timer.__module__ = "tarry.waits"
