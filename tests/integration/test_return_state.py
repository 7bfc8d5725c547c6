"""Prefect's `flow(..., return_state=True)` and `get_run_context().flow_run`.

In Prefect 3 a flow or task called with `return_state=True` returns its final
`State` instead of its value: `.is_completed()`, `.is_failed()`, `.name`, `.type`,
and `.result()`, which returns the value or raises the error. Inside a run,
`get_run_context().flow_run` has the run's `id`, `name` and `parameters`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tarry import errors, flow, get_run_context, task
from tarry.states import RunState, State
from tarry.testing import TestHarness


def _state(outcome: object) -> State:
    # Type checkers see the flow's own signature, which has no `return_state`.
    assert isinstance(outcome, State)
    return outcome


@flow
def adds(a: int, b: int = 2) -> int:
    return a + b


@flow
def fails() -> None:
    raise ValueError("no good")


@flow
async def adds_async(a: int) -> int:
    return a + 1


@flow(timeout_seconds=0.2)
async def overruns() -> None:
    await asyncio.sleep(60)


def test_a_completed_flow_returns_a_completed_state(harness: TestHarness) -> None:
    state = _state(adds(1, return_state=True))  # type: ignore[call-arg]
    assert state.is_completed()
    assert not state.is_failed()
    assert state.name == "Completed"
    assert state.type is RunState.COMPLETED
    assert state.result() == 3


def test_a_failed_flow_returns_its_error_in_the_state(harness: TestHarness) -> None:
    state = _state(fails(return_state=True))  # type: ignore[call-arg]
    assert state.is_failed()
    assert state.name == "Failed"
    assert state.type is RunState.FAILED
    assert "no good" in (state.message or "")
    with pytest.raises(ValueError, match="no good"):
        state.result()
    assert isinstance(state.result(raise_on_failure=False), ValueError)


def test_an_async_flow_returns_a_coroutine_of_its_state(harness: TestHarness) -> None:
    state = _state(asyncio.run(adds_async(1, return_state=True)))  # type: ignore[call-arg]
    assert state.is_completed()
    assert state.result() == 2


def test_a_timeout_is_a_timed_out_state(harness: TestHarness) -> None:
    state = _state(asyncio.run(overruns(return_state=True)))  # type: ignore[call-arg]
    assert state.is_failed()
    assert state.name == "TimedOut"
    with pytest.raises(errors.FlowTimeout):
        state.result()


@task
def breaks() -> None:
    raise RuntimeError("broken")


@flow
def looks_at_a_task_state() -> str:
    state = _state(breaks(return_state=True))  # type: ignore[call-arg]
    return f"{state.name}: {state.result(raise_on_failure=False)}"


def test_a_task_called_with_return_state_does_not_fail_the_flow(harness: TestHarness) -> None:
    assert looks_at_a_task_state() == "Failed: broken"


seen: list[Any] = []


@flow
def child(x: int) -> None:
    ctx = get_run_context()
    assert ctx is not None
    seen.append(ctx.flow_run)


@flow(flow_run_name="parent-{n}")
def parent(n: int) -> str:
    ctx = get_run_context()
    assert ctx is not None
    seen.append(ctx.flow_run)
    child(n * 10)
    return ctx.flow_run.id


def test_get_run_context_has_the_flow_run(harness: TestHarness) -> None:
    seen.clear()
    run_id = parent(4)
    top, sub = seen
    assert top.id == run_id
    assert top.name == "parent-4"
    assert top.parameters == {"n": 4}
    assert top.parent_id is None
    assert top.run_count == 1
    assert sub.parameters == {"x": 40}
    assert sub.parent_id == run_id
    assert harness.store.get_run(sub.id) is not None
