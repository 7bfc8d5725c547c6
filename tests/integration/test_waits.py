"""Waits in one process against a real SQLite file: answers, timeouts, races, suspension."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import pydantic
import pytest

import tarry
from tarry import errors, flow, pause_flow_run, service, suspend_flow_run, task, wait_any
from tarry.engine import watcher
from tarry.input import RunInput
from tarry.states import RunState, StepKind, WaitStatus
from tarry.storage import RunFilter, StateChange
from tarry.testing import TestHarness, tarry_test_harness
from tarry.waits import Input, Timer

side_effects: list[str] = []


# Every test runs on both stores: the `suspending`/`resident` harnesses are looked up
# by name in some tests, so the store parameter must be in every test's closure.
pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def suspending(database_url: str) -> Iterator[TestHarness]:
    """Every wait suspends its run at once; time moves only on `advance`."""
    with tarry_test_harness(resident_seconds=0, fake_clock=True, database_url=database_url) as h:
        yield h


@pytest.fixture
def resident(database_url: str) -> Iterator[TestHarness]:
    """Waits stay in memory (a long resident window); time moves only on `advance`."""
    with tarry_test_harness(fake_clock=True, resident_seconds=7200, database_url=database_url) as h:
        yield h


@task
def remember(what: str) -> str:
    side_effects.append(what)
    return what


class Approval(RunInput):
    decision: Literal["Approve", "Disapprove"]
    code: str | None = pydantic.Field(
        None, pattern=r"^[1-9]{7}$", description="7 digits, no zeroes"
    )

    @pydantic.model_validator(mode="after")
    def code_when_approving(self) -> Approval:
        if self.decision == "Approve" and self.code is None:
            raise ValueError("an approval needs the 7-digit code")
        return self


@flow
def needs_approval(cost: int) -> str:
    remember(f"estimated {cost}")
    answer = pause_flow_run(Approval, timeout=3600)
    return f"{answer.decision} {answer.code}"


@pytest.mark.parametrize("where", ["resident", "suspending"])
def test_an_answer_resumes_the_run_where_it_stopped(
    where: str, request: pytest.FixtureRequest
) -> None:
    harness: TestHarness = request.getfixturevalue(where)
    side_effects.clear()
    run = harness.start(needs_approval, 1500)
    waiting = run.wait_for(RunState.WAITING)
    if where == "suspending":
        waiting = _until_suspended(harness, run.id)
    assert waiting.state_reason

    harness.answer(run.id, {"decision": "Approve", "code": "1234567"}, responder="fin@corp")

    assert run.result() == "Approve 1234567"
    assert side_effects == ["estimated 1500"]
    [wait] = run.waits()
    assert (wait.status, wait.responder, wait.channel) == (WaitStatus.ANSWERED, "fin@corp", "test")
    journal = harness.store.get_steps(run.id)
    assert [(s.name, s.kind) for s in journal] == [
        ("remember", StepKind.TASK),
        ("pause", StepKind.WAIT),
    ]
    # Answered in the process that awaits it, the run goes straight back to work.
    states = [t.to_state for t in harness.store.get_transitions(run.id)]
    assert RunState.PENDING not in states[states.index(RunState.WAITING) :]


def test_a_caller_hears_of_its_run_ended_by_another_process(
    suspending: TestHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher, "_SWEEP_SECONDS", 0.05)
    run = suspending.start(needs_approval, 10)
    _until_suspended(suspending, run.id)

    ended_elsewhere = StateChange(RunState.CANCELLED, at=time.time(), reason="cancelled by ops")
    suspending.store.transition(run.id, (RunState.WAITING,), ended_elsewhere)

    with pytest.raises(errors.RunFailed, match="cancelled by ops"):
        run.result(timeout=5)


def _until_suspended(harness: TestHarness, run_id: str) -> tarry.storage.RunRecord:
    """The run once it left memory and its caller here awaits it again."""
    for _ in range(2000):
        run = harness.wait_for_state(run_id, RunState.WAITING)
        if run.lease_owner is None and harness.host.hub.awaited_root(run_id) is not None:
            return run
        threading.Event().wait(0.002)
    raise AssertionError("the run never left memory")


def test_an_invalid_answer_is_refused_with_field_errors_and_the_run_keeps_waiting(
    resident: TestHarness,
) -> None:
    run = resident.start(needs_approval, 2000)
    run.wait_for(RunState.WAITING)

    with pytest.raises(tarry.InputInvalid) as bad_code:
        resident.answer(run.id, {"decision": "Approve", "code": "1230567"})
    assert [e.loc for e in bad_code.value.field_errors] == [("code",)]
    with pytest.raises(tarry.InputInvalid, match="an approval needs the 7-digit code"):
        resident.answer(run.id, {"decision": "Approve"})

    assert run.run.state is RunState.WAITING
    assert [w.status for w in run.waits()] == [WaitStatus.OPEN]
    resident.answer(run.id, {"decision": "Disapprove"})
    assert run.result() == "Disapprove None"


def test_a_hundred_threads_answer_one_wait_and_exactly_one_wins(resident: TestHarness) -> None:
    run = resident.start(needs_approval, 100)
    run.wait_for(RunState.WAITING)
    outcomes: list[str] = []
    start = threading.Barrier(100)

    def answer(i: int) -> None:
        decision = (
            {"decision": "Approve", "code": "1234567"} if i % 2 else {"decision": "Disapprove"}
        )
        start.wait()
        try:
            resident.answer(run.id, decision, responder=f"user{i}")
            outcomes.append(f"won {i}")
        except tarry.AlreadyAnswered:
            outcomes.append("already answered")

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1
    assert outcomes.count("already answered") == 99
    winner = int(winners[0].split()[1])
    expected = "Approve 1234567" if winner % 2 else "Disapprove None"
    assert run.result() == expected
    [wait] = run.waits()
    assert wait.responder == f"user{winner}"
    entries = [s for s in resident.store.get_steps(run.id) if s.kind is StepKind.WAIT]
    assert len(entries) == 1


@flow
def greets_within_an_hour(on_timeout: Any) -> Any:
    return (
        pause_flow_run(RunInput.with_initial_data(), timeout=3600, on_timeout=on_timeout)
        if on_timeout == "never"
        else pause_flow_run(
            NameInput.with_initial_data(name="anonymous"), timeout=3600, on_timeout=on_timeout
        )
    )


class NameInput(RunInput):
    name: str


@pytest.mark.parametrize("where", ["resident", "suspending"])
@pytest.mark.parametrize(
    ("on_timeout", "expected"),
    [("default", "anonymous"), ({"name": "given"}, {"name": "given"})],
    ids=["default", "value"],
)
def test_a_one_hour_timeout_applies_its_outcome_in_milliseconds(
    where: str, on_timeout: Any, expected: Any, request: pytest.FixtureRequest
) -> None:
    harness: TestHarness = request.getfixturevalue(where)
    run = harness.start(greets_within_an_hour, on_timeout)
    run.wait_for(RunState.WAITING)
    harness.advance(3599)
    assert run.run.state is RunState.WAITING
    harness.advance(2)

    result = run.result()
    assert (result.name if isinstance(result, NameInput) else result) == expected
    [wait] = run.waits()
    assert (wait.status, wait.channel) == (WaitStatus.TIMED_OUT, "timer")


@pytest.mark.parametrize("where", ["resident", "suspending"])
def test_a_one_hour_timeout_fails_the_run_with_a_readable_reason(
    where: str, request: pytest.FixtureRequest
) -> None:
    harness: TestHarness = request.getfixturevalue(where)
    run = harness.start(greets_within_an_hour, "fail")
    run.wait_for(RunState.WAITING)
    harness.advance(3601)

    with pytest.raises(tarry.WaitTimeout, match="nobody answered the pause within 1 hour"):
        run.result()
    failed = run.run
    assert failed.state is RunState.FAILED
    assert failed.state_reason.startswith("WaitTimeout: ")
    with pytest.raises(tarry.AlreadyAnswered):
        harness.answer(run.id, {"name": "too late"})


@flow
def approve_or_give_up() -> str:
    won, value = tarry.wait_any(Input("approve", bool), Timer(dt.timedelta(minutes=2)))
    if isinstance(won, Timer):
        return "gave up"
    return f"approved={value}"


@pytest.mark.parametrize("where", ["resident", "suspending"])
def test_wait_any_input_first_and_the_timer_never_fires_later(
    where: str, request: pytest.FixtureRequest
) -> None:
    harness: TestHarness = request.getfixturevalue(where)
    run = harness.start(approve_or_give_up)
    run.wait_for(RunState.WAITING)
    harness.answer(run.id, True, key="approve")
    assert run.result() == "approved=True"

    harness.advance(600)
    statuses = {w.name: w.status for w in run.waits()}
    assert statuses == {"approve": WaitStatus.ANSWERED, "timer": WaitStatus.CANCELLED}
    assert run.run.state is RunState.COMPLETED
    assert len(harness.store.get_steps(run.id)) == 1


@pytest.mark.parametrize("where", ["resident", "suspending"])
def test_wait_any_timer_first_and_the_input_is_closed(
    where: str, request: pytest.FixtureRequest
) -> None:
    harness: TestHarness = request.getfixturevalue(where)
    run = harness.start(approve_or_give_up)
    run.wait_for(RunState.WAITING)
    harness.advance(121)
    assert run.result() == "gave up"

    statuses = {w.name: w.status for w in run.waits()}
    assert statuses == {"approve": WaitStatus.CANCELLED, "timer": WaitStatus.TIMED_OUT}
    with pytest.raises(tarry.AlreadyAnswered, match=r"was cancelled \(another wait won\)"):
        harness.answer(run.id, True)


@flow
def named_inputs() -> tuple[str, int]:
    remember("before")
    title = tarry.wait_for_input("title", str, timeout=60)
    pages = tarry.wait_for_input("pages", int, timeout=60)
    return title, pages


def test_answers_sent_before_the_run_reaches_its_wait_are_kept(suspending: TestHarness) -> None:
    run = suspending.start(named_inputs)
    run.wait_for(RunState.WAITING)
    kept = suspending.answer(run.id, "12", key="pages")
    assert kept.wait is None
    assert kept.early_input_id is not None
    suspending.answer(run.id, "Report", key="title")
    assert run.result() == ("Report", 12)
    assert {w.name: w.channel for w in run.waits()} == {"title": "test", "pages": "test"}


def test_an_invalid_early_answer_is_rejected_when_the_wait_is_reached(
    resident: TestHarness,
) -> None:
    run = resident.start(named_inputs)
    run.wait_for(RunState.WAITING)
    resident.answer(run.id, "many", key="pages")
    resident.answer(run.id, "Report", key="title")
    waiting = _open_wait_named(resident, run.id, "pages")
    assert waiting.status is WaitStatus.OPEN
    resident.answer(run.id, 7, key="pages")
    assert run.result() == ("Report", 7)
    # The early sender was told "kept"; the refusal shows in the run's log.
    run.assert_logged("an answer sent early by test for 'pages' was refused: invalid input")


def _open_wait_named(harness: TestHarness, run_id: str, name: str) -> tarry.storage.WaitRecord:
    for _ in range(2000):
        found = [w for w in harness.store.waits_of_run(run_id) if w.name == name]
        if found:
            return found[0]
        threading.Event().wait(0.002)
    raise AssertionError(f"run {run_id} never reached wait {name!r}")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@flow
def plain_types() -> list[Any]:
    return [
        pause_flow_run(str, key="s"),
        pause_flow_run(int, key="i"),
        pause_flow_run(float, key="f"),
        pause_flow_run(bool, key="b"),
        pause_flow_run(Color, key="e"),
        pause_flow_run(Literal["x", "y"], key="l"),
    ]


def test_plain_types_are_wrapped_for_the_form_and_unwrapped_for_the_flow(
    suspending: TestHarness,
) -> None:
    run = suspending.start(plain_types)
    for key, value in [
        ("s", "text"),
        ("i", "3"),
        ("f", 2.5),
        ("b", True),
        ("e", "blue"),
        ("l", {"value": "y"}),
    ]:
        _open_wait_named(suspending, run.id, key)
        suspending.answer(run.id, value, key=key)
    assert run.result() == ["text", 3, 2.5, True, Color.BLUE, "y"]


@flow
def gated(amount: int) -> int:
    approved: int = tarry.approve(amount, "finance", timeout=60)
    return approved


def test_approve_returns_the_value_or_raises_when_rejected(resident: TestHarness) -> None:
    yes = resident.start(gated, 10)
    yes.wait_for(RunState.WAITING)
    resident.answer(yes.id, True)
    assert yes.result() == 10

    no = resident.start(gated, 20)
    no.wait_for(RunState.WAITING)
    resident.answer(no.id, False)
    with pytest.raises(tarry.ApprovalRejected, match="approval 'finance' was rejected"):
        no.result()


@flow
def naps_durably() -> str:
    remember("before nap")
    tarry.sleep(dt.timedelta(days=1))
    return remember("after nap")


def test_durable_sleep_wakes_when_the_time_comes(suspending: TestHarness) -> None:
    side_effects.clear()
    run = suspending.start(naps_durably)
    _until_suspended(suspending, run.id)
    suspending.advance(86399)
    assert run.run.state is RunState.WAITING
    suspending.advance(2)
    assert run.result() == "after nap"
    assert side_effects == ["before nap", "after nap"]


@flow
async def async_pause() -> str:
    first = await pause_flow_run(NameInput.with_initial_data(name="anonymous"))
    await tarry.sleep(30)
    second = await suspend_flow_run(str, key="again")
    return f"{first.name}/{second}"


def test_async_flows_await_their_waits(resident: TestHarness) -> None:
    run = resident.start(async_pause)
    run.wait_for(RunState.WAITING)
    resident.answer(run.id)
    _open_wait_named(resident, run.id, "sleep")
    resident.advance(31)
    _open_wait_named(resident, run.id, "again")
    resident.answer(run.id, "Ann", key="again")
    assert run.result() == "anonymous/Ann"


async def _many_waiting(harness: TestHarness, n: int) -> list[str]:
    pending = [asyncio.ensure_future(async_pause()) for _ in range(n)]
    while len(harness.store.open_inputs(limit=1000)) < n:
        await asyncio.sleep(0.01)
    for wait in harness.store.open_inputs(limit=1000):
        await asyncio.to_thread(harness.answer, wait.run_id, {"name": wait.run_id[:4]})
    while len(harness.store.due_waits(harness.clock.now() + 60, 1000)) < n:
        await asyncio.sleep(0.01)
    await asyncio.to_thread(harness.advance, 31)
    while len(harness.store.open_inputs(limit=1000)) < n:
        await asyncio.sleep(0.01)
    for wait in harness.store.open_inputs(limit=1000):
        await asyncio.to_thread(harness.answer, wait.run_id, "x", key="again")
    return list(await asyncio.gather(*pending))


def test_many_async_runs_wait_on_one_event_loop(suspending: TestHarness) -> None:
    results = asyncio.run(_many_waiting(suspending, 30))
    assert len(results) == 30
    assert all(r.endswith("/x") for r in results)


@flow
def child_asks(question: str) -> str:
    return f"{question}? {pause_flow_run(str, key='reply')}"


@flow
def parent_of_a_waiting_child() -> str:
    remember("parent before")
    return child_asks("why")


@pytest.mark.parametrize("where", ["resident", "suspending"])
def test_a_child_flow_waits_and_its_parent_resumes_with_it(
    where: str, request: pytest.FixtureRequest
) -> None:
    harness: TestHarness = request.getfixturevalue(where)
    side_effects.clear()
    parent = harness.start(parent_of_a_waiting_child)
    child_wait = _open_wait_named(harness, _child_of(harness, parent.id), "reply")
    harness.answer(child_wait.run_id, "because")
    assert parent.result() == "why? because"
    assert side_effects == ["parent before"]


def _child_of(harness: TestHarness, parent_id: str) -> str:
    for _ in range(2000):
        children = harness.store.list_runs(tarry.storage.RunFilter(parent_id=parent_id))
        if children:
            return children[0].id
        threading.Event().wait(0.002)
    raise AssertionError("no child run")


def test_waits_outside_a_flow_or_in_a_submitted_task_say_where_they_belong() -> None:
    with pytest.raises(tarry.TarryError, match="only be called inside a flow run"):
        pause_flow_run(str)

    @task
    def sneaky() -> None:
        pause_flow_run(str)

    @flow
    def host_flow() -> None:
        sneaky.submit().result()

    with tarry_test_harness(), pytest.raises(tarry.TarryError, match="call the task directly"):
        host_flow()


def test_waits_beyond_the_resident_limit_suspend_at_once() -> None:
    with tarry_test_harness(resident_seconds=3600, max_resident_runs=2, fake_clock=True) as h:
        runs = [h.start(needs_approval, i) for i in range(5)]
        for run in runs:
            run.wait_for(RunState.WAITING)
        _eventually(lambda: sum(r.run.lease_owner is None for r in runs) == 3)
        # A suspending waiter leaves the hub just after its release is stored.
        _eventually(lambda: h.host.hub.resident() == 2)

        for run in runs:
            h.answer(run.id, {"decision": "Disapprove"})
        assert [r.result() for r in runs] == ["Disapprove None"] * 5


def _eventually(condition: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.005)):
        if condition():
            return
        threading.Event().wait(0.005)
    raise AssertionError("condition never held")


@flow
async def waits_async(i: int) -> str:
    return str(await pause_flow_run(str, key="name"))


async def _burst(harness: TestHarness, n: int) -> tuple[int, list[str]]:
    pending = [asyncio.ensure_future(waits_async(i)) for i in range(n)]
    while len(harness.store.open_inputs(limit=100)) < n:
        await asyncio.sleep(0.01)
    # A suspending waiter's wait is stored just before it leaves the hub: give the
    # last ones a moment; waiters that stay resident never leave.
    for _ in range(200):
        if harness.host.hub.resident() <= harness.host.settings.max_resident_runs:
            break
        await asyncio.sleep(0.01)
    resident = harness.host.hub.resident()
    for wait in harness.store.open_inputs(limit=100):
        await asyncio.to_thread(harness.answer, wait.run_id, "x", key="name")
    return resident, list(await asyncio.gather(*pending))


def test_a_burst_of_waits_keeps_exactly_the_resident_limit_in_memory() -> None:
    with tarry_test_harness(resident_seconds=3600, max_resident_runs=10, fake_clock=True) as h:
        resident, results = asyncio.run(_burst(h, 20))
    assert resident == 10
    assert results == ["x"] * 20


@pytest.mark.parametrize("resident_seconds", [7200, 0])
def test_closing_the_host_stops_runs_and_callers_still_waiting(resident_seconds: float) -> None:
    with tarry_test_harness(resident_seconds=resident_seconds, fake_clock=True) as h:
        run = h.start(needs_approval, 1)
        run.wait_for(RunState.WAITING)
        if resident_seconds == 0:
            _until_suspended(h, run.id)

    with pytest.raises(errors.RunAborted, match="shutting down"):
        run.result(timeout=5)


@flow
def approval_or_deadline() -> str:
    spec, _ = wait_any(Input("approval", bool), Timer(2 * 3600))
    return "timed out" if isinstance(spec, Timer) else "answered"


def test_an_input_raced_against_a_timer_shows_the_timers_deadline(resident: TestHarness) -> None:
    run = resident.start(approval_or_deadline)
    run.wait_for(RunState.WAITING)
    [item] = service.list_inbox(hst=resident.host)
    assert item.wait.name == "approval"
    assert item.wait.deadline == pytest.approx(item.wait.created_at + 2 * 3600)
    assert service.get_inbox_item(item.wait.id, hst=resident.host).wait.deadline == (
        item.wait.deadline
    )
    resident.answer(run, True, key="approval")
    assert run.result() == "answered"


@flow
def reads_while_the_process_stops() -> str:
    raise sqlite3.OperationalError("disk I/O error")  # what a store closing under it raises


def test_an_error_met_while_the_process_shuts_down_stops_the_run_unrecorded() -> None:
    with tarry_test_harness() as h:
        h.host.hub.close("the process is shutting down")
        with pytest.raises(errors.RunAborted, match="shutting down"):
            reads_while_the_process_stops()
        [run] = h.store.list_runs(RunFilter(limit=10))
        assert run.state is RunState.RUNNING  # not Failed: another process replays it
