"""Builders of store records, and waiting helpers, for the storage tests."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tarry.states import RunState, StepKind, StepStatus
from tarry.storage import LogRecord, RunRecord, StepRecord, Store

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Adapter:
    """How to open one storage adapter for a test."""

    open: Callable[[Path], Store]
    """Open the store that keeps its data under this folder (the same data each time)."""
    durable: bool
    """Whether its data outlives `close()`, so opening it again finds it."""


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


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 0.5) -> T:
    """`read()` until `done` holds of its result or `timeout` seconds pass; the last result."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.01)
        value = read()
    return value
