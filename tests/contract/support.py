"""Builders of store records, and waiting helpers, for the storage tests."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar

from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus
from tarry.storage import LogRecord, RunRecord, StepRecord, Store, WaitRecord, records, rules

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Adapter:
    """How to open one storage adapter for a test."""

    open: Callable[[Path], Store]
    """Open the store that keeps its data under this folder (the same data each time)."""
    durable: bool
    """Whether its data outlives `close()`, so opening it again finds it."""
    reset: Callable[[], None] = lambda: None
    """Forget the data of earlier tests (for a database that tests share)."""


T0 = 1_000.0
"""A fixed point in time: tests speak in offsets from it."""


def new_id() -> str:
    """A fresh run id."""
    return str(uuid.uuid4())


def run_record(
    run_id: str | None = None,
    *,
    state: RunState = RunState.PENDING,
    created_at: float = T0,
    flow_name: str = "demo",
    parent_id: str | None = None,
    lease_owner: str | None = None,
    lease_expires_at: float | None = None,
    started_at: float | None = None,
    parameters: str = '{"x":1}',
) -> RunRecord:
    """A run record with plausible defaults."""
    return RunRecord(
        id=run_id or new_id(),
        name="brave-otter",
        flow_name=flow_name,
        entrypoint="pkg.mod:demo",
        parameters=parameters,
        state=state,
        created_at=created_at,
        parent_id=parent_id,
        parent_step_key="1" if parent_id else None,
        lease_owner=lease_owner,
        lease_expires_at=lease_expires_at,
        started_at=started_at,
    )


def step_record(
    run_id: str,
    key: str,
    *,
    name: str = "task",
    status: StepStatus = StepStatus.COMPLETED,
    result: str | None = "1",
    error: str | None = None,
) -> StepRecord:
    """A journal entry with plausible defaults."""
    return StepRecord(
        run_id=run_id,
        key=key,
        name=name,
        kind=StepKind.TASK,
        inputs_digest="digest",
        status=status,
        started_at=T0,
        ended_at=T0 + 1,
        result=result,
        error=error,
    )


def log_record(
    run_id: str, message: str, *, at: float = T0, step_key: str | None = None
) -> LogRecord:
    """A log line at INFO level."""
    return LogRecord(
        run_id=run_id, at=at, level=20, message=message, step_key=step_key, logger="tarry.runs"
    )


BOOL_INPUT_SPEC = json.dumps(
    {
        "schema": {
            "additionalProperties": False,
            "properties": {"value": {"title": "Value", "type": "boolean"}},
            "required": ["value"],
            "title": "AutomaticRunInput",
            "type": "object",
        },
        "description": "Ship it?",
        "initial": {},
        "unwrap": True,
        "model_ref": None,
        "value_type_ref": "builtins:bool",
    }
)
"""The stored spec of a yes/no input, as `tarry.input` writes it."""

_WAIT_NAMESPACE = uuid.UUID("5d1c2a8e-3f4b-4c6d-9e7f-8a9b0c1d2e3f")


def wait_record(
    run_id: str,
    key: str = "1",
    *,
    alt: int = 0,
    attempt: int = 1,
    kind: WaitKind = WaitKind.INPUT,
    name: str = "approval",
    label: str | None = None,
    created_at: float = T0,
    deadline: float | None = None,
) -> WaitRecord:
    """An open wait as a flow stores it on reaching journal key `key`.

    Like `tarry.waits`, the id is derived from run, key, attempt and alternative, so
    a replay that reaches the same wait builds the same id.

    Args:
        run_id: The waiting run.
        key: The journal key of the wait.
        alt: Which alternative of a `wait_any` it is.
        attempt: The flow attempt that reached it.
        kind: An input (a yes/no question) or a timer.
        name: The name answers address it by.
        label: The journal name of the whole wait (default: `input:<name>`).
        created_at: When the run reached it.
        deadline: When its timeout applies (`None`: never).
    """
    timer = kind is WaitKind.TIMER
    return WaitRecord(
        id=str(uuid.uuid5(_WAIT_NAMESPACE, f"{run_id}/{key}/{attempt}/{alt}")),
        run_id=run_id,
        step_key=key,
        kind=kind,
        name=name,
        status=WaitStatus.OPEN,
        created_at=created_at,
        alt=alt,
        attempt=attempt,
        label=label if label is not None else f"input:{name}",
        spec=None if timer else BOOL_INPUT_SPEC,
        on_timeout='{"kind": "fire"}' if timer else '{"kind": "fail"}',
        deadline=deadline,
    )


def wait_close(
    wait: WaitRecord,
    *,
    at: float,
    answer: object = True,
    responder: str = "ada",
    early_input_id: int | None = None,
) -> records.WaitClose:
    """An answer to `wait` and the journal entry it becomes, as `tarry.engine.answers` builds them.

    Args:
        wait: The wait (alternative) answered.
        at: When.
        answer: The accepted answer, as JSON data.
        responder: Who answered.
        early_input_id: The early input this answer consumes, if it was sent early.
    """
    result = {"alt": wait.alt, "value": answer, "given": False}
    return records.WaitClose(
        wait_id=wait.id,
        status=WaitStatus.ANSWERED,
        at=at,
        step=rules.wait_entry(wait, json.dumps(result, separators=(",", ":")), at),
        answer=json.dumps(answer),
        responder=responder,
        channel="api",
        prompt="Ship it?",
        early_input_id=early_input_id,
        reason=f"{wait.name!r} answered by {responder}",
    )


def timeout_close(wait: WaitRecord, *, at: float) -> records.WaitClose:
    """`wait` reaching its deadline (a timer firing), as `tarry.engine.answers` builds it."""
    result = {"alt": wait.alt, "value": None, "given": False}
    return records.WaitClose(
        wait_id=wait.id,
        status=WaitStatus.TIMED_OUT,
        at=at,
        step=rules.wait_entry(wait, json.dumps(result, separators=(",", ":")), at),
        channel="timer",
        reason=f"{wait.name!r} reached its deadline",
    )


def early_input(
    run_id: str,
    name: str = "approval",
    *,
    data: str = "true",
    sent_at: float = T0,
    responder: str | None = "ada",
) -> records.EarlyInput:
    """An answer sent for wait `name` before the run reached it, not stored yet."""
    return records.EarlyInput(
        run_id=run_id, name=name, data=data, sent_at=sent_at, responder=responder, channel="api"
    )


# -- runs and waits in a store ----------------------------------------------------------

ME = "host-a:100:1"
OTHER = "host-b:200:1"
NOW = T0 + 100
LEASE = NOW + 30


def leased_run(
    store: Store, *, owner: str = ME, parent_id: str | None = None, created_at: float = T0
) -> RunRecord:
    run = run_record(
        state=RunState.RUNNING,
        lease_owner=owner,
        lease_expires_at=LEASE,
        started_at=T0,
        parent_id=parent_id,
        created_at=created_at,
    )
    store.insert_run(run)
    return run


def waiting_change(
    *, at: float = NOW, owner: str = ME, release: bool = False, label: str = "input:approval"
) -> records.StateChange:
    """What a flow asks for when it stores its waits (see `tarry.waits`)."""
    return records.StateChange(
        RunState.WAITING,
        at=at,
        reason=f"waiting for {label}",
        require_owner=owner,
        lease_owner=None if release else records.UNSET,
        lease_expires_at=None if release else records.UNSET,
    )


def resident_wait(
    store: Store,
    run: RunRecord,
    key: str = "1",
    *,
    created_at: float,
    deadline: float | None = None,
) -> WaitRecord:
    """Store one input wait of `run` (leased to `ME`), which stays in memory, Waiting."""
    wait = wait_record(run.id, key, created_at=created_at, deadline=deadline)
    store.open_waits([wait], waiting_change(at=wait.created_at))
    return wait


def stored_run(store: Store, run_id: str) -> RunRecord:
    run = store.get_run(run_id)
    assert run is not None
    return run


def stored_wait(store: Store, wait_id: str) -> WaitRecord:
    wait = store.get_wait(wait_id)
    assert wait is not None
    return wait


def closed(store: Store, close: records.WaitClose) -> records.WaitClosed:
    outcome = store.close_wait(close)
    assert outcome is not None
    return outcome


def receive(
    run: RunRecord,
    key: str = "1",
    *,
    prefix: str | None = None,
    exclude: Collection[str] = (),
    at: float = NOW,
) -> WaitRecord:
    """A MESSAGE wait as `receive_input` stores it."""
    wait = wait_record(run.id, key, kind=WaitKind.MESSAGE, name="message", created_at=at)
    return dataclasses.replace(wait, spec=rules.message_filter(prefix, exclude))


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 0.5) -> T:
    """`read()` until `done` holds of its result or `timeout` seconds pass; the last result."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.01)
        value = read()
    return value
