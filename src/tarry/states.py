"""Run and step states, and the one table of allowed run transitions.

Every state is a `StrEnum`: it is its value wherever it is shown or formatted.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any

from tarry import errors

__all__ = [
    "FINAL_STATES",
    "RETRYABLE",
    "TRANSITIONS",
    "DeliveryStatus",
    "RunState",
    "State",
    "StepKind",
    "StepStatus",
    "WaitKind",
    "WaitStatus",
    "check_transition",
    "shown_name",
]


class RunState(StrEnum):
    """Where a run is in its life."""

    #: Created to start later (a schedule or a retry delay).
    SCHEDULED = "Scheduled"
    #: Ready to be executed by any worker.
    PENDING = "Pending"
    #: A process holds its lease and executes it.
    RUNNING = "Running"
    #: Paused or suspended on a wait (input, message or timer).
    WAITING = "Waiting"
    #: Returned a result.
    COMPLETED = "Completed"
    #: Raised an error, after its retries.
    FAILED = "Failed"
    #: Stopped on request.
    CANCELLED = "Cancelled"
    #: Its code could not be run to an outcome (entrypoint gone, process interrupted).
    CRASHED = "Crashed"

    @property
    def is_final(self) -> bool:
        """Whether the run has ended: nothing but a person's retry (`RETRYABLE`) leaves it."""
        return self in FINAL_STATES

    # Prefect's state predicates, so code written against Prefect reads states as it did.
    def is_running(self) -> bool:
        """Whether the run is executing now."""
        return self is RunState.RUNNING

    def is_completed(self) -> bool:
        """Whether the run returned a result."""
        return self is RunState.COMPLETED

    def is_failed(self) -> bool:
        """Whether the run ended with an error."""
        return self is RunState.FAILED

    def is_paused(self) -> bool:
        """Whether the run waits (for an input, a message or a timer)."""
        return self is RunState.WAITING


@dataclasses.dataclass(frozen=True)
class State:
    """How a call ended, with its outcome: what `flow(..., return_state=True)` returns.

    Read as Prefect's `State` is: `.type`, `.name`, `.message`, `.is_completed()`,
    `.is_failed()`, and `.result()`, which returns the value or raises the error.
    """

    type: RunState
    """`COMPLETED`, `FAILED`, `CRASHED` or `CANCELLED`."""
    name: str
    """The state's name: `Completed`, `Failed`, `TimedOut` (a timeout), ..."""
    message: str | None = None
    """Why it ended so (the error, for a state that is not Completed)."""
    value: Any = None
    """The call's result, when it completed."""
    error: BaseException | None = None
    """The error the call raised, when it did not complete."""

    @classmethod
    def completed(cls, value: Any) -> State:
        """The state of a call that returned `value`."""
        return cls(RunState.COMPLETED, "Completed", None, value)

    @classmethod
    def of_error(cls, error: BaseException) -> State:
        """The state of a call that raised `error` (a timeout is Prefect's `TimedOut`)."""
        kind, name = RunState.FAILED, "Failed"
        if isinstance(error, errors.RunFailed) and error.state in _RUN_STATE_NAMES:
            kind = name = RunState(error.state)
        elif isinstance(error, (errors.FlowTimeout, errors.TaskTimeout)):
            name = "TimedOut"
        return cls(kind, str(name), f"{type(error).__name__}: {error}", error=error)

    def is_completed(self) -> bool:
        """Whether the call returned."""
        return self.type is RunState.COMPLETED

    def is_failed(self) -> bool:
        """Whether the call raised an error (a timeout too)."""
        return self.type is RunState.FAILED

    def is_crashed(self) -> bool:
        """Whether the run could not be run to an outcome."""
        return self.type is RunState.CRASHED

    def is_cancelled(self) -> bool:
        """Whether the run was stopped on request."""
        return self.type is RunState.CANCELLED

    def is_final(self) -> bool:
        """Always true: a state is returned once the call has ended."""
        return self.type.is_final

    def result(self, raise_on_failure: bool = True) -> Any:
        """The call's value; or its error, raised (or returned with `raise_on_failure=False`).

        Raises:
            BaseException: The call's error, when it did not complete.
        """
        if self.error is None:
            return self.value
        if raise_on_failure:
            raise self.error
        return self.error


_RUN_STATE_NAMES = frozenset(state.value for state in RunState)


class StepStatus(StrEnum):
    """Outcome of a journaled step."""

    #: The step returned; its result is recorded.
    COMPLETED = "Completed"
    #: The step raised after its retries; its error is recorded.
    FAILED = "Failed"


class StepKind(StrEnum):
    """What a journal entry records."""

    #: A `@task` call.
    TASK = "task"
    #: A child flow run.
    SUBFLOW = "subflow"
    #: A recorded value (`tarry.now()`, `tarry.uuid4()`, `tarry.random()`).
    VALUE = "value"
    #: A wait for input or time (`pause_flow_run`, `wait_for_input`, `sleep`, `wait_any`).
    WAIT = "wait"


class WaitKind(StrEnum):
    """What a wait waits for."""

    #: An answer from a person or a program, validated against an input model.
    INPUT = "input"
    #: A point in time (`sleep`, or the timer of a `wait_any`).
    TIMER = "timer"
    #: A message sent to the run (`send_input` / `receive_input`).
    MESSAGE = "message"


class WaitStatus(StrEnum):
    """Where a wait is in its life; only Open waits can be answered or time out."""

    #: Nobody answered yet and the deadline has not passed.
    OPEN = "open"
    #: An answer was accepted (or a timer fired).
    ANSWERED = "answered"
    #: The deadline passed first; the wait's timeout outcome was applied.
    TIMED_OUT = "timed_out"
    #: Another alternative of the same `wait_any` won.
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """Where an outgoing notification or mail is: queued, sent, or given up."""

    #: Waiting to be sent (again, after a failed attempt).
    PENDING = "pending"
    #: The mail server or webhook accepted it.
    SENT = "sent"
    #: Every attempt failed; it is not tried again.
    FAILED = "failed"
    #: Not sent: its wait was answered or the run ended before it could go out.
    SKIPPED = "skipped"


_S = RunState

FINAL_STATES = frozenset({_S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.CRASHED})

#: Allowed run transitions. Running -> Running is a retry or a lease takeover after a
#: crash; Waiting -> Waiting is a resident wait being suspended (its lease released).
#: Failed or Crashed -> Pending is a person retrying the run: the same run continues
#: from its journal (see `RETRYABLE`).
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    _S.SCHEDULED: frozenset({_S.PENDING, _S.RUNNING, _S.CANCELLED}),
    _S.PENDING: frozenset({_S.RUNNING, _S.SCHEDULED, _S.CANCELLED}),
    _S.RUNNING: frozenset(
        {_S.RUNNING, _S.PENDING, _S.SCHEDULED, _S.WAITING}
        | {_S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.CRASHED}
    ),
    _S.WAITING: frozenset(
        {_S.WAITING, _S.PENDING, _S.RUNNING, _S.FAILED, _S.CANCELLED, _S.CRASHED}
    ),
    _S.COMPLETED: frozenset(),
    _S.FAILED: frozenset({_S.PENDING}),
    _S.CANCELLED: frozenset(),
    _S.CRASHED: frozenset({_S.PENDING}),
}

#: The ended states a person may retry the run from (`tarry runs retry`).
RETRYABLE = frozenset({_S.FAILED, _S.CRASHED})


def shown_name(state: RunState, *, in_memory: bool) -> str:
    """A run state's name as Prefect shows it, for readers written against Prefect.

    Prefect's PAUSED state is named `Paused` while its run waits in its process and
    `Suspended` once the run left it; tarry's one `Waiting` state is either, by
    whether a process still holds the run. Every other state keeps its own name.

    Args:
        state: The stored state.
        in_memory: Whether a process holds the run (its lease is taken).
    """
    if state is not RunState.WAITING:
        return state.value
    return "Paused" if in_memory else "Suspended"


def check_transition(run_id: str, from_state: RunState, to_state: RunState) -> None:
    """Raise unless a run may move from `from_state` to `to_state`.

    Args:
        run_id: The run, for the error message.
        from_state: Its current state.
        to_state: The state asked for.

    Raises:
        errors.InvalidTransition: The table above does not allow it.
    """
    if to_state not in TRANSITIONS[from_state]:
        raise errors.InvalidTransition(run_id, from_state.value, to_state.value)
