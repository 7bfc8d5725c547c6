"""`pause_flow_run` called inside a task pauses the run that owns the task.

Prefect 3 (since PrefectHQ/prefect#19457): "`pause_flow_run()` should pause the parent
flow run, not the task run", so approval logic can live in a reusable task; the task
goes on with the answer and returns it. In tarry the run also leaves memory while it
waits, so these run with waits parked in memory and with every wait suspended and
replayed, on each store.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tarry
from tarry import flow, pause_flow_run, suspend_flow_run, task
from tarry.input import RunInput
from tarry.states import RunState, StepKind, StepStatus
from tarry.testing import TestHarness, tarry_test_harness


class Approval(RunInput):
    approved: bool


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


@task
def get_approval(item: str) -> str:
    answer = pause_flow_run(wait_for_input=Approval, timeout=None)
    return f"{item}: {'approved' if answer.approved else 'refused'}"


@task
def count_after(value: str) -> str:
    return value.upper()


@flow
def orders(item: str) -> str:
    return count_after(get_approval(item))


@task
async def get_approval_async() -> bool:
    answer = await pause_flow_run(wait_for_input=Approval, timeout=None)
    return bool(answer.approved)


@flow
async def orders_async() -> bool:
    return await get_approval_async()


@task
def gate() -> str:
    suspend_flow_run(timeout=None)
    return "passed"


@flow
def gated() -> str:
    return gate()


def test_a_pause_in_a_task_pauses_the_run_and_the_task_gets_the_answer(
    harness: TestHarness,
) -> None:
    run = harness.start(orders, "shirt")
    run.wait_for(RunState.WAITING)

    harness.answer(run.id, {"approved": True})

    assert run.result() == "SHIRT: APPROVED"
    recorded = {s.key: s for s in harness.store.get_steps(run.id)}
    assert recorded["1"].kind is StepKind.TASK
    assert recorded["1"].status is StepStatus.COMPLETED
    assert recorded["1.1"].kind is StepKind.WAIT


def test_an_async_task_awaits_its_pause(harness: TestHarness) -> None:
    run = harness.start(orders_async)
    run.wait_for(RunState.WAITING)

    harness.answer(run.id, {"approved": False})

    assert run.result() is False


def test_a_suspend_in_a_task_suspends_the_run(harness: TestHarness) -> None:
    run = harness.start(gated)
    waiting = run.wait_for(RunState.WAITING)
    assert waiting.lease_owner is None  # it left memory at once, as a suspend does

    harness.answer(run.id)

    assert run.result() == "passed"


@task
def asks_beside_the_flow() -> Any:
    return pause_flow_run(str, timeout=None)


@flow
def submits_a_pause() -> Any:
    return asks_beside_the_flow.submit().result()


@task(timeout_seconds=30)
def asks_under_a_timeout() -> Any:
    return pause_flow_run(str, timeout=None)


@flow
def times_a_pause() -> Any:
    return asks_under_a_timeout()


@task
def asks_on_the_loop() -> Any:
    return pause_flow_run(str, timeout=None)


@flow
async def blocks_its_loop() -> Any:
    return asks_on_the_loop()


def test_a_task_that_cannot_stop_its_run_refuses_to_pause_and_says_why() -> None:
    with tarry_test_harness(fake_clock=True):
        with pytest.raises(tarry.TarryError, match="submitted task runs beside its flow"):
            submits_a_pause()
        with pytest.raises(tarry.TarryError, match="timeout_seconds"):
            times_a_pause()
        with pytest.raises(tarry.TarryError, match="would block the event loop"):
            asyncio.run(blocks_its_loop())
