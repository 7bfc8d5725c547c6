"""`suspend_flow_run(flow_run_id=...)` suspends another run, as in Prefect 3.

Prefect: "flow_run_id: a flow run id. If supplied, this function will attempt to suspend
the specified flow run"; the call returns `None`, the run stops executing and is
rescheduled when it is resumed. In tarry a waiting run leaves memory at once and resumes,
by replay, when its wait is answered; a running run is refused loudly (`NotWaiting`),
since tarry stops a run only at its own waits (docs/from-prefect.md).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import tarry
from tarry import asuspend_flow_run, flow, pause_flow_run, suspend_flow_run, task
from tarry.states import RunState, StepKind
from tarry.storage import RunFilter
from tarry.testing import TestHarness, tarry_test_harness
from tests import polling


@pytest.fixture
def harness(database_url: str) -> Iterator[TestHarness]:
    """Waiting runs stay in memory until something suspends them, on each store."""
    with tarry_test_harness(fake_clock=True, resident_seconds=7200, database_url=database_url) as h:
        yield h


@flow
def asks_for_a_name() -> str:
    return f"hello {pause_flow_run(str, timeout=None)}"


@flow
def suspends_another(run_id: str) -> str:
    suspend_flow_run(flow_run_id=run_id)
    return "suspended it"


@flow
async def suspends_another_async(run_id: str) -> str:
    await suspend_flow_run(flow_run_id=run_id)
    return "suspended it"


def _left_memory(harness: TestHarness, run_id: str) -> bool:
    run = harness.store.get_run(run_id)
    return run is not None and run.state is RunState.WAITING and run.lease_owner is None


def test_a_waiting_run_suspended_from_outside_leaves_memory_and_resumes(
    harness: TestHarness,
) -> None:
    asking = harness.start(asks_for_a_name)
    assert asking.wait_for(RunState.WAITING).lease_owner is not None

    assert suspend_flow_run(flow_run_id=asking.id) is None

    assert _left_memory(harness, asking.id)
    polling.until(harness.host.hub.resident, lambda parked: parked == 0)
    harness.answer(asking.id, "Ada")
    assert asking.result() == "hello Ada"


def test_a_flow_suspends_another_run_and_records_it_in_its_journal(harness: TestHarness) -> None:
    asking = harness.start(asks_for_a_name)
    asking.wait_for(RunState.WAITING)

    assert suspends_another(asking.id) == "suspended it"

    assert _left_memory(harness, asking.id)
    [suspender] = harness.store.list_runs(RunFilter(flow_name="suspends-another"))
    [step] = harness.store.get_steps(suspender.id)
    assert step.kind is StepKind.VALUE
    harness.answer(asking.id, "Grace")
    assert asking.result() == "hello Grace"


def test_an_async_flow_awaits_the_suspend_of_another_run(harness: TestHarness) -> None:
    asking = harness.start(asks_for_a_name)
    asking.wait_for(RunState.WAITING)

    assert asyncio.run(suspends_another_async(asking.id)) == "suspended it"

    assert _left_memory(harness, asking.id)
    harness.answer(asking.id, "Linus")
    assert asking.result() == "hello Linus"


def test_async_code_outside_flows_awaits_it(harness: TestHarness) -> None:
    asking = harness.start(asks_for_a_name)
    asking.wait_for(RunState.WAITING)

    async def operator() -> None:
        await suspend_flow_run(flow_run_id=asking.id)

    asyncio.run(operator())

    assert _left_memory(harness, asking.id)


release = threading.Event()


@task
def busy() -> str:
    release.wait(10)
    return "done"


@flow
def works() -> str:
    return busy()


def test_a_running_run_is_refused_loudly_and_keeps_running(harness: TestHarness) -> None:
    release.clear()
    working = harness.start(works)
    working.wait_for(RunState.RUNNING)

    with pytest.raises(tarry.NotWaiting, match="is Running"):
        suspend_flow_run(flow_run_id=working.id)

    release.set()
    assert working.result() == "done"


def test_asking_another_run_for_input_is_refused(harness: TestHarness) -> None:
    asking = harness.start(asks_for_a_name)
    asking.wait_for(RunState.WAITING)

    with pytest.raises(tarry.errors.NotSupported, match="its own code asks for"):
        suspend_flow_run(wait_for_input=int, flow_run_id=asking.id)

    assert not _left_memory(harness, asking.id)


def test_the_async_twin_suspends_another_run_from_async_code(harness: TestHarness) -> None:
    asking = harness.start(asks_for_a_name)
    asking.wait_for(RunState.WAITING)

    assert asyncio.run(asuspend_flow_run(flow_run_id=asking.id)) is None

    assert _left_memory(harness, asking.id)
    harness.answer(asking.id, "Barbara")
    assert asking.result() == "hello Barbara"
