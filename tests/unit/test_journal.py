"""Replay decisions, without any store."""

from __future__ import annotations

import pytest

from tarry import errors
from tarry.engine.journal import Journal, retry_delay
from tarry.states import StepKind, StepStatus
from tarry.storage import StepRecord


def _step(
    key: str,
    name: str,
    status: StepStatus = StepStatus.COMPLETED,
    *,
    digest: str = "d",
    flow_attempt: int = 1,
) -> StepRecord:
    return StepRecord(
        run_id="r",
        key=key,
        name=name,
        kind=StepKind.TASK,
        inputs_digest=digest,
        status=status,
        started_at=0.0,
        ended_at=1.0,
        result="1",
        flow_attempt=flow_attempt,
    )


def test_unrecorded_calls_execute_and_recorded_ones_replay() -> None:
    journal = Journal("r", 1, [_step("1", "extract")])
    assert journal.decide("1", "extract", StepKind.TASK, "d") == _step("1", "extract")
    assert journal.decide("2", "load", StepKind.TASK, "d") is None


def test_another_task_at_a_recorded_position_is_nondeterminism() -> None:
    journal = Journal("r", 1, [_step("1", "extract")])
    with pytest.raises(errors.NondeterminismError) as caught:
        journal.decide("1", "load", StepKind.TASK, "d")
    assert caught.value.step_key == "1"
    assert "recorded task 'extract' here, but the code now calls task 'load'" in str(caught.value)
    assert "tarry.now()" in str(caught.value)


def test_other_arguments_or_kind_are_nondeterminism() -> None:
    journal = Journal("r", 1, [_step("1", "extract")])
    with pytest.raises(errors.NondeterminismError, match="called with other arguments"):
        journal.decide("1", "extract", StepKind.TASK, "other")
    with pytest.raises(errors.NondeterminismError, match="now calls subflow 'extract'"):
        journal.decide("1", "extract", StepKind.SUBFLOW, "d")


def test_failed_steps_replay_in_their_attempt_and_rerun_in_a_later_one() -> None:
    failed = _step("1", "charge", StepStatus.FAILED)
    journal = Journal("r", 1, [failed])
    assert journal.decide("1", "charge", StepKind.TASK, "d") == failed
    journal.start_attempt(2)
    assert journal.decide("1", "charge", StepKind.TASK, "d") is None


def test_skipping_a_recorded_step_is_reported_at_the_end() -> None:
    journal = Journal("r", 1, [_step("1", "a"), _step("2", "b"), _step("2.1", "nested")])
    journal.decide("1", "a", StepKind.TASK, "d")
    with pytest.raises(errors.NondeterminismError, match="finished without calling it"):
        journal.check_complete()
    journal.decide("2", "b", StepKind.TASK, "d")
    journal.check_complete()


def test_steps_of_earlier_attempts_may_be_skipped() -> None:
    journal = Journal("r", 2, [_step("1", "a", flow_attempt=1)])
    journal.check_complete()


@pytest.mark.parametrize(
    ("retries", "delays", "attempt", "expected"),
    [
        (0, 1.0, 1, None),
        (2, 1.5, 1, 1.5),
        (2, 1.5, 2, 1.5),
        (2, 1.5, 3, None),
        (3, [1, 2], 1, 1.0),
        (3, [1, 2], 2, 2.0),
        (3, [1, 2], 3, 2.0),
        (1, [], 1, 0.0),
    ],
)
def test_retry_delay(
    retries: int, delays: float | list[float], attempt: int, expected: float | None
) -> None:
    assert retry_delay(retries, delays, attempt) == expected
