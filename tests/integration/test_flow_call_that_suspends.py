"""A flow called in this process that suspends: the call blocks until the run ends.

Prefect 3 refuses to suspend such runs: `suspend_flow_run` raises `RuntimeError("Flow run
cannot be suspended: Cannot pause flows without a deployment with the reschedule option.")`
at once (and "Cannot pause subflows with the reschedule option." in a subflow); a
deployment's run raises `Pause` and its process exits. tarry keeps the run: the caller's
thread gives up the flow's stack and only waits for the run's result, the answer resumes
the run by replay, and the call returns the flow's value (docs/from-prefect.md says why).
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

from tarry import flow, suspend_flow_run, task
from tarry.states import RunState
from tarry.storage import RunFilter
from tarry.testing import TestHarness, tarry_test_harness
from tests import polling

calls: list[str] = []


@task
def before() -> str:
    calls.append("before")
    return "ready"


@flow
def suspends_itself() -> Any:
    before()
    return {"answer": suspend_flow_run(int, timeout=None)}


@flow
def child_suspends() -> Any:
    return suspend_flow_run(str, timeout=None)


@flow
def parent_of_a_suspending_child() -> Any:
    return f"child said {child_suspends()}"


def _waiting_run(harness: TestHarness, flow_name: str) -> str:
    def suspended() -> list[Any]:
        found = harness.store.list_runs(RunFilter(flow_name=flow_name))
        return [r for r in found if r.state is RunState.WAITING and r.lease_owner is None]

    return str(polling.until(suspended, bool)[0].id)


def test_the_call_blocks_through_the_suspension_and_returns_the_answer() -> None:
    calls.clear()
    with tarry_test_harness(fake_clock=True) as harness, cf.ThreadPoolExecutor(1) as pool:
        call = pool.submit(suspends_itself)
        run_id = _waiting_run(harness, "suspends-itself")
        assert not call.done()  # the call did not raise, it waits for its run

        harness.answer(run_id, 42)

        assert call.result(timeout=10) == {"answer": 42}
    assert calls == ["before"]  # the replay took the task's result from the journal


def test_a_subflow_that_suspends_suspends_its_parent_and_both_go_on() -> None:
    with tarry_test_harness(fake_clock=True) as harness, cf.ThreadPoolExecutor(1) as pool:
        call = pool.submit(parent_of_a_suspending_child)
        child_id = _waiting_run(harness, "child-suspends")

        harness.answer(child_id, "hi")

        assert call.result(timeout=10) == "child said hi"
