"""The errors Prefect users catch: `pydantic.ValidationError`, `RuntimeError`, "isn't paused".

In Prefect 3 a receive of a message that does not fit its type raises pydantic's
`ValidationError`; `receive_input` outside a flow run, and `respond` to an input no
flow run sent, raise `RuntimeError`; `resume_flow_run` of a run that is not paused
raises "Cannot resume a run that isn't paused!", and of an invalid answer a
`RuntimeError`. tarry raises its own errors (`MessageInvalid`, `NotInFlowRun`,
`CannotRespond`, `NotWaiting`, `InputInvalid`), each also the one Prefect raises,
so both `except` clauses work.
"""

from __future__ import annotations

import pydantic
import pytest

from tarry import errors, flow, pause_flow_run, resume_flow_run
from tarry.input import RunInput
from tarry.messaging import receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness


class Order(RunInput):
    item: str
    count: int


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


@flow
def counts_orders() -> list[object]:
    try:
        for order in receive_input(Order, timeout=None, key_prefix="order"):
            return [order.count]
    except pydantic.ValidationError as exc:
        [problem] = exc.errors()
        return [problem["loc"], problem["type"], isinstance(exc, errors.InputInvalid)]
    return []


def test_an_invalid_message_is_a_pydantic_validation_error(harness: TestHarness) -> None:
    run = harness.start(counts_orders)
    run.wait_for(RunState.WAITING)

    send_input({"item": "tea", "count": "many"}, run.id, key_prefix="order", hst=harness.host)

    assert run.result() == [("count",), "int_parsing", True]


@flow
def takes_an_int() -> int:
    for number in receive_input(int, timeout=None, key_prefix="n"):
        return int(number)
    return 0


def test_an_uncaught_invalid_message_fails_the_run_with_both_errors(
    harness: TestHarness,
) -> None:
    run = harness.start(takes_an_int)
    run.wait_for(RunState.WAITING)

    send_input("seven", run.id, key_prefix="n", hst=harness.host)

    with pytest.raises(pydantic.ValidationError) as caught:
        run.result()
    error: object = caught.value
    assert isinstance(error, errors.MessageInvalid)
    assert [e.field for e in error.field_errors] == ["value"]
    assert "Input should be a valid integer" in str(error)
    with pytest.raises(errors.InputInvalid):
        run.result()


def test_receiving_outside_a_flow_run_is_a_runtime_error(harness: TestHarness) -> None:
    with pytest.raises(RuntimeError, match="inside a flow run"):
        receive_input(str)
    with pytest.raises(errors.NotInFlowRun):
        Order.receive()


def test_pausing_outside_a_flow_run_is_a_runtime_error(harness: TestHarness) -> None:
    with pytest.raises(RuntimeError, match="pause_flow_run can only be called inside a flow run"):
        pause_flow_run(timeout=1)


@flow
def answers_whoever_asks() -> str:
    for message in receive_input(str, timeout=None, with_metadata=True):
        try:
            message.respond("thanks")
        except RuntimeError as exc:
            return f"{type(exc).__name__}: {exc}"
    return ""


def test_responding_to_a_message_no_run_sent_is_a_runtime_error(harness: TestHarness) -> None:
    run = harness.start(answers_whoever_asks)
    run.wait_for(RunState.WAITING)

    send_input("hi", run.id, key="from-a-script", hst=harness.host)

    assert run.result() == (
        "CannotRespond: Cannot respond to message 'from-a-script': it was not sent by a flow run"
    )


def test_responding_with_an_input_that_was_not_received_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="not received from a flow run"):
        Order(item="tea", count=1).respond(Order(item="tea", count=2))


@flow
def finishes() -> str:
    return "done"


@flow
def pauses_for_an_order() -> int:
    order: Order = pause_flow_run(Order, timeout=None)
    return order.count


def test_resuming_a_run_that_is_not_paused_says_so_as_prefect_does(
    harness: TestHarness,
) -> None:
    ended = harness.start(finishes)
    ended.result()

    with pytest.raises(errors.NotWaiting, match="Cannot resume a run that isn't paused") as e:
        resume_flow_run(ended.id, {"item": "tea", "count": 1})
    assert str(e.value).endswith(f"run {ended.id} is Completed, not waiting for input")
    assert e.value.run_id == ended.id


def test_resuming_with_an_invalid_answer_is_a_runtime_error(harness: TestHarness) -> None:
    run = harness.start(pauses_for_an_order)
    harness.wait_until(run.open_waits)

    with pytest.raises(RuntimeError, match="count") as refused:
        resume_flow_run(run.id, {"item": "tea", "count": "many"})
    assert isinstance(refused.value, errors.InputInvalid)

    resume_flow_run(run.id, {"item": "tea", "count": 2})
    assert run.result() == 2
