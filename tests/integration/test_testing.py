"""The test harness and its pytest plugin, used as a user's test suite would use them."""

from __future__ import annotations

import pydantic
import pytest

from tarry import deployments, flow, get_run_logger, pause_flow_run, sleep, task
from tarry.errors import InputInvalid
from tarry.input import RunInput
from tarry.messaging import receive_input
from tarry.states import RunState
from tarry.testing import TestHarness


class Approval(RunInput):
    approver: str
    amount: int = pydantic.Field(ge=1, le=10_000)


@task
def estimate(model: str) -> int:
    return 1500 if model == "big" else 10


@task
def train(model: str) -> str:
    get_run_logger().info("training %s", model)
    return f"{model} trained"


@flow
def approved_training(model: str) -> str:
    cost = estimate(model)
    answer = pause_flow_run(Approval, timeout=3600)
    log = get_run_logger()
    log.info("approved by %s for %d (estimate %d)", answer.approver, answer.amount, cost)
    return train(model)


@flow
def collector(count: int) -> list[str]:
    return [m for _, m in zip(range(count), receive_input(str, timeout=3600), strict=False)]


@flow
def napper() -> str:
    sleep(86_400)
    return "rested"


@flow
def doubler(n: int) -> int:
    if n < 0:
        raise ValueError(f"{n} is negative")
    return n * 2


def test_answers_are_validated_and_assertions_read_the_run(tarry_harness: TestHarness) -> None:
    handle = tarry_harness.start(approved_training, "big")
    handle.assert_state(RunState.WAITING)
    with pytest.raises(InputInvalid) as refused:
        tarry_harness.answer(handle, {"approver": "fin", "amount": 0})
    assert [e.field for e in refused.value.field_errors] == ["amount"]
    handle.assert_state(RunState.WAITING)  # the wrong answer lost nothing

    tarry_harness.answer(handle, {"approver": "fin", "amount": 1500})

    assert handle.result() == "big trained"
    handle.assert_state(RunState.COMPLETED)
    handle.assert_steps("estimate", "train")
    handle.assert_logged("approved by fin for 1500 (estimate 1500)")


def test_a_failed_assertion_says_what_the_run_is_doing(tarry_harness: TestHarness) -> None:
    handle = tarry_harness.start(approved_training, "small")
    handle.assert_state(RunState.WAITING)
    with pytest.raises(AssertionError) as failed:
        handle.assert_state(RunState.COMPLETED, timeout=0.05)
    text = str(failed.value)
    assert "is Waiting" in text
    assert "steps: ['estimate']" in text
    assert "waiting on input" in text
    assert "expected: Completed" in text
    with pytest.raises(AssertionError, match="expected steps: \\['train'\\]"):
        handle.assert_steps("train")
    with pytest.raises(AssertionError, match="expected a log line with 'nope'"):
        handle.assert_logged("nope")


def test_messages_sent_by_the_harness_are_received_in_order(tarry_harness: TestHarness) -> None:
    handle = tarry_harness.start(collector, 2)
    tarry_harness.send(handle, "first")
    tarry_harness.send(handle, "second", key="k2")
    tarry_harness.send(handle, "second again", key="k2")  # the same key is sent once
    assert handle.result() == ["first", "second"]
    assert handle.messages() == ["first", "second"]


@pytest.mark.tarry_harness(fake_clock=True)
def test_the_marker_gives_a_fake_clock_that_jumps_a_day(tarry_harness: TestHarness) -> None:
    handle = tarry_harness.start(napper)
    handle.assert_state(RunState.WAITING)
    tarry_harness.advance(86_400)
    assert handle.result() == "rested"


@pytest.mark.tarry_harness(worker=True)
def test_the_in_process_worker_runs_deployments(tarry_harness: TestHarness) -> None:
    name = deployments.deploy(doubler, "twice").name
    started = deployments.start(name, {"n": 21}, hst=tarry_harness.host)
    handle = tarry_harness.handle(started.id)
    assert handle.result() == 42
    handle.assert_state(RunState.COMPLETED)


def test_a_failed_deployment_run_raises_its_error(tarry_harness: TestHarness) -> None:
    tarry_harness.start_worker()
    name = deployments.deploy(doubler, "bad").name
    started = deployments.start(name, {"n": -1}, hst=tarry_harness.host)
    handle = tarry_harness.handle(started.id)
    with pytest.raises(ValueError, match="-1 is negative"):
        handle.result()
    handle.assert_state(RunState.FAILED)
