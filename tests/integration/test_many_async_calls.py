"""Many async flow calls at once: more than the gate admits together, none stuck.

A top-level `async def` flow call takes a place at its loop's gate before it
makes its run (`tarry.engine.admission`). Calls that wait on one another with
plain asyncio, without any tarry wait, still all finish: a place is given back
after a short hold even by a run that never waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tarry import flow, pause_flow_run, resume_flow_run
from tarry.engine import admission
from tarry.states import RunState
from tarry.storage import records
from tarry.testing import TestHarness, tarry_test_harness


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    with tarry_test_harness(resident_seconds=0) as h:
        yield h


_gates: dict[str, asyncio.Event] = {}


@flow
async def waits_for_the_last(last: bool) -> bool:
    gate = _gates.setdefault("all", asyncio.Event())
    if last:
        gate.set()
    await gate.wait()
    return last


def test_calls_that_await_each_other_beyond_the_gate_all_finish(harness: TestHarness) -> None:
    count = admission._PLACES + 5

    async def main() -> list[bool]:
        _gates.clear()
        calls = [waits_for_the_last(i == count - 1) for i in range(count)]
        return await asyncio.wait_for(asyncio.gather(*calls), 60)

    started = time.perf_counter()
    results = asyncio.run(main())
    assert len(results) == count
    assert results.count(True) == 1
    # The last call started once the first places were held for their short while.
    assert time.perf_counter() - started < 30


@flow
async def asks(i: int) -> int:
    await pause_flow_run(timeout=3600)
    return i


def test_a_burst_of_suspending_calls_all_wait_then_all_resume(harness: TestHarness) -> None:
    count = admission._PLACES + 200

    async def main() -> list[int]:
        calls = [asyncio.ensure_future(asks(i)) for i in range(count)]
        while len(waiting := harness.store.open_inputs(limit=2 * count)) < count:
            await asyncio.sleep(0.05)
        for wait in waiting:
            await asyncio.to_thread(resume_flow_run, wait.run_id)
        return await asyncio.wait_for(asyncio.gather(*calls), 120)

    assert asyncio.run(main()) == list(range(count))
    done = records.RunFilter(states=[RunState.COMPLETED], limit=2 * count)
    assert len(harness.store.list_runs(done)) == count
