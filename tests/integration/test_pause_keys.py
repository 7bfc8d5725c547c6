"""A pause key pauses once, as Prefect's `pause_flow_run(key=...)` documents.

Prefect: "key: An optional key to prevent calling pauses more than once". A second
pause (or suspend) of a run with a key an earlier one used returns at once, with the
earlier pause's answer; pauses without a key each wait.
"""

from __future__ import annotations

from typing import Any

import pytest

from tarry import flow, pause_flow_run, suspend_flow_run
from tarry.states import RunState, WaitKind
from tarry.testing import TestHarness
from tests import polling


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


@flow
def asks_twice_with_one_key() -> list[Any]:
    first = pause_flow_run(str, key="approval", timeout=None)
    second = pause_flow_run(str, key="approval", timeout=None)
    return [first, second]


@flow
def pauses_then_suspends_with_one_key() -> list[Any]:
    pause_flow_run(key="gate", timeout=None)
    again = suspend_flow_run(key="gate", timeout=None)
    return ["passed", again]


@flow
async def awaits_twice_with_one_key() -> list[Any]:
    first = await pause_flow_run(int, key="count", timeout=None)
    second = await pause_flow_run(int, key="count", timeout=None)
    return [first, second]


@flow
def pauses_twice_without_a_key() -> list[Any]:
    return [pause_flow_run(str, timeout=None), pause_flow_run(str, timeout=None)]


def _input_waits(harness: TestHarness, run_id: str) -> int:
    return sum(1 for w in harness.handle(run_id).waits() if w.kind is WaitKind.INPUT)


def test_a_reused_pause_key_returns_at_once_with_the_first_answer(harness: TestHarness) -> None:
    asking = harness.start(asks_twice_with_one_key)
    asking.wait_for(RunState.WAITING)

    harness.answer(asking.id, "yes", key="approval")

    assert asking.result() == ["yes", "yes"]
    assert _input_waits(harness, asking.id) == 1


def test_a_suspend_with_a_key_a_pause_used_does_not_stop_the_run(harness: TestHarness) -> None:
    gated = harness.start(pauses_then_suspends_with_one_key)
    gated.wait_for(RunState.WAITING)

    harness.answer(gated.id, key="gate")

    assert gated.result() == ["passed", None]
    assert _input_waits(harness, gated.id) == 1


def test_an_async_flow_reusing_a_key_pauses_once(harness: TestHarness) -> None:
    counting = harness.start(awaits_twice_with_one_key)
    counting.wait_for(RunState.WAITING)

    harness.answer(counting.id, 3, key="count")

    assert counting.result() == [3, 3]


def test_pauses_without_a_key_each_wait(harness: TestHarness) -> None:
    asking = harness.start(pauses_twice_without_a_key)
    asking.wait_for(RunState.WAITING)
    harness.answer(asking.id, "one")
    polling.until(lambda: harness.handle(asking.id).open_waits(), bool)

    harness.answer(asking.id, "two")

    assert asking.result() == ["one", "two"]
