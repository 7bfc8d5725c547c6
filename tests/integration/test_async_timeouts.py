"""Timeouts in `async def` flows: a wait's timeout is the wait's, the flow's is the flow's.

As in Prefect, `await pause_flow_run(timeout=...)` that nobody answers raises the
pause's timeout error (the same one a sync flow gets), whether or not the flow has a
`timeout_seconds=` of its own; only the flow's own deadline is a flow timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tarry import errors, flow, pause_flow_run, receive_input, task
from tarry.states import RunState
from tarry.testing import TestHarness, tarry_test_harness


@pytest.fixture
def clocked() -> Iterator[TestHarness]:
    """A real SQLite file; time moves only on `advance`, so a wait times out on cue."""
    with tarry_test_harness(fake_clock=True, resident_seconds=7200) as h:
        yield h


@flow
async def pauses() -> str:
    await pause_flow_run(timeout=60)
    return "resumed"


@flow(timeout_seconds=3600)
async def pauses_within_a_deadline() -> str:
    await pause_flow_run(timeout=60)
    return "resumed"


@flow(timeout_seconds=3600)
def pauses_within_a_deadline_sync() -> str:
    pause_flow_run(timeout=60)
    return "resumed"


@flow(timeout_seconds=3600)
async def receives_within_a_deadline() -> str:
    async for _ in receive_input(str, timeout=60, raise_timeout_error=True):
        return "got one"
    return "none"


@pytest.mark.parametrize("body", [pauses, pauses_within_a_deadline])
def test_an_unanswered_async_pause_raises_the_waits_timeout(
    clocked: TestHarness, body: object
) -> None:
    run = clocked.start(body)  # type: ignore[arg-type]
    clocked.wait_until(run.open_waits)
    clocked.advance(61)
    with pytest.raises(errors.WaitTimeout):
        run.result()
    ended = run.assert_state(RunState.FAILED)
    assert ended.state_reason is not None
    assert ended.state_reason.startswith("WaitTimeout")


@flow
async def pauses_briefly() -> str:
    await pause_flow_run(timeout=0.1)
    return "resumed"


def test_a_short_pause_timeout_under_asyncio_run_is_the_waits_timeout(
    harness: TestHarness,
) -> None:
    # The issue's own case, written as Prefect users write it: a real clock, asyncio.run.
    with pytest.raises(errors.WaitTimeout, match="nobody answered the pause"):
        asyncio.run(pauses_briefly())


def test_async_and_sync_flows_get_the_same_error_for_a_pause_timeout(
    clocked: TestHarness,
) -> None:
    errors_seen: list[str] = []
    for body in (pauses_within_a_deadline, pauses_within_a_deadline_sync):
        run = clocked.start(body)
        clocked.wait_until(run.open_waits)
        clocked.advance(61)
        with pytest.raises(errors.WaitTimeout):
            run.result()
        reason = run.assert_state(RunState.FAILED).state_reason or ""
        errors_seen.append(reason.split(":")[0])
    assert errors_seen == ["WaitTimeout", "WaitTimeout"]


def test_a_receive_timeout_is_not_the_flows_timeout(clocked: TestHarness) -> None:
    run = clocked.start(receives_within_a_deadline)
    clocked.wait_until(run.open_waits)
    clocked.advance(61)
    with pytest.raises(TimeoutError) as raised:
        run.result()
    assert not isinstance(raised.value, errors.FlowTimeout)
    assert "FlowTimeout" not in (run.assert_state(RunState.FAILED).state_reason or "")


@flow(timeout_seconds=3600)
async def raises_its_own_timeout() -> None:
    raise TimeoutError("the flow's own")


@task(timeout_seconds=3600)
async def task_raises_its_own_timeout() -> None:
    raise TimeoutError("the task's own")


@flow
async def calls_the_task() -> None:
    await task_raises_its_own_timeout()


def test_a_timeout_error_raised_by_the_flow_is_not_a_flow_timeout(harness: TestHarness) -> None:
    with pytest.raises(TimeoutError, match="the flow's own") as raised:
        asyncio.run(raises_its_own_timeout())
    assert not isinstance(raised.value, errors.FlowTimeout)


def test_a_timeout_error_raised_by_an_async_task_is_not_a_task_timeout(
    harness: TestHarness,
) -> None:
    with pytest.raises(TimeoutError, match="the task's own") as raised:
        asyncio.run(calls_the_task())
    assert not isinstance(raised.value, errors.TaskTimeout)


@flow(timeout_seconds=0.2)
async def overruns() -> None:
    await asyncio.sleep(60)


def test_the_flows_own_deadline_is_still_a_flow_timeout(harness: TestHarness) -> None:
    with pytest.raises(errors.FlowTimeout, match=r"exceeded its timeout of 0\.2s"):
        asyncio.run(overruns())
