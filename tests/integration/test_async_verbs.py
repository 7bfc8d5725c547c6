"""Prefect's awaitable calls: `await resume_flow_run(...)`, and the `a...` twins of the waits.

In Prefect 3, `resume_flow_run` returns an awaitable in async code and does its work
at once in sync code; `pause_flow_run` and `suspend_flow_run` are awaited in
`async def` flows. tarry also has `apause_flow_run`, `asuspend_flow_run` and
`aresume_flow_run`, the async versions by name.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

import tarry
from tarry import errors, flow, pause_flow_run, resume_flow_run, suspend_flow_run
from tarry.states import RunState
from tarry.testing import RunHandle, TestHarness, tarry_test_harness


@pytest.fixture
def resident() -> Iterator[TestHarness]:
    """A real SQLite file; waits stay in memory; time moves only on `advance`."""
    with tarry_test_harness(fake_clock=True, resident_seconds=7200) as h:
        yield h


@flow
def waits_for_a_word() -> str:
    word: str = pause_flow_run(str, timeout=None)
    return f"got {word}"


def _waiting(harness: TestHarness) -> RunHandle:
    run = harness.start(waits_for_a_word)
    harness.wait_until(run.open_waits)
    return run


def test_resume_flow_run_is_awaitable_in_async_code(resident: TestHarness) -> None:
    run = _waiting(resident)

    async def main() -> Any:
        return await resume_flow_run(run.id, "hello")

    assert asyncio.run(main()) is None
    assert run.result() == "got hello"


def test_resume_flow_run_answers_even_when_the_awaitable_is_dropped(
    resident: TestHarness,
) -> None:
    run = _waiting(resident)

    async def main() -> None:
        resume_flow_run(run.id, "unawaited")

    asyncio.run(main())
    assert run.result() == "got unawaited"


def test_awaiting_resume_flow_run_raises_its_error(resident: TestHarness) -> None:
    run = _waiting(resident)
    resume_flow_run(run.id, "first")
    run.result()

    async def main() -> None:
        await resume_flow_run(run.id, "second")

    with pytest.raises(errors.InputError):
        asyncio.run(main())


def test_resume_flow_run_in_sync_code_answers_and_returns_none(resident: TestHarness) -> None:
    run = _waiting(resident)
    assert resume_flow_run(run.id, "sync") is None
    assert run.result() == "got sync"


@flow
async def resumes_another(run_id: str) -> str:
    await resume_flow_run(run_id, "from an async flow")
    return "sent"


@flow
def resumes_another_sync(run_id: str) -> bool:
    return resume_flow_run(run_id, "from a sync flow") is None


def test_an_async_flow_awaits_resume_flow_run(resident: TestHarness) -> None:
    run = _waiting(resident)
    assert asyncio.run(resumes_another(run.id)) == "sent"
    assert run.result() == "got from an async flow"


def test_a_sync_flow_under_a_running_loop_resumes_at_once(resident: TestHarness) -> None:
    run = _waiting(resident)

    async def notebook_cell() -> bool:
        # A sync flow called where a loop runs (a notebook): it answers, nothing to await.
        return resumes_another_sync(run.id)

    assert asyncio.run(notebook_cell()) is True
    assert run.result() == "got from a sync flow"


def test_aresume_flow_run_is_the_async_version(resident: TestHarness) -> None:
    run = _waiting(resident)
    assert inspect.iscoroutinefunction(tarry.aresume_flow_run)
    asyncio.run(tarry.aresume_flow_run(run.id, "twin"))
    assert run.result() == "got twin"


@flow
async def pauses_async() -> str:
    first: str = await tarry.apause_flow_run(str, key="first", timeout=None)
    second: str = await pause_flow_run(str, key="second", timeout=None)
    return f"{first} {second}"


@flow
async def suspends_async() -> str:
    word: str = await tarry.asuspend_flow_run(str, timeout=None)
    return f"suspended for {word}"


@flow
async def suspends_with_the_plain_name() -> str:
    word: str = await suspend_flow_run(str, timeout=None)
    return f"suspended for {word}"


def test_apause_flow_run_waits_like_pause_flow_run(resident: TestHarness) -> None:
    run = resident.start(pauses_async)
    resident.wait_until(run.open_waits)
    resident.answer(run, "one", key="first")
    resident.wait_until(lambda: [w.name for w in run.open_waits()] == ["second"])
    resident.answer(run, "two", key="second")
    assert run.result() == "one two"


@pytest.mark.parametrize("body", [suspends_async, suspends_with_the_plain_name])
def test_asuspend_flow_run_leaves_memory_and_resumes(resident: TestHarness, body: Any) -> None:
    run = resident.start(body)
    # Suspended: Waiting, and no process holds the run any more.
    resident.wait_until(lambda: run.run.state is RunState.WAITING and run.run.lease_owner is None)
    resident.answer(run, "an answer")
    assert run.result() == "suspended for an answer"


@flow
def sync_flow_calls_the_async_twin() -> None:
    asyncio.run(tarry.apause_flow_run(str))


def test_the_async_twins_refuse_a_sync_flow(resident: TestHarness) -> None:
    with pytest.raises(errors.TarryError, match="apause_flow_run is for async def flows"):
        sync_flow_calls_the_async_twin()
