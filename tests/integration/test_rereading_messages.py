"""Re-reading: Prefect's receive reads from the first message again; tarry's takes each once.

In Prefect 3 a run's inputs stay where they are: every new `receive_input(...)`
starts from the first one again (one iterator yields each once, and `exclude_keys`
skips some). tarry keeps exactly-once consumption as the default, which a workflow
that is replayed or recovered needs, and offers Prefect's reading with
`consume=False`: such a receive reads without taking, so the messages stay for the
next receive, of either kind.
"""

from __future__ import annotations

import pytest

from tarry import flow
from tarry.input import RunInput
from tarry.messaging import receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness


class Vote(RunInput):
    choice: str


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


def _two(*, consume: bool, exclude_keys: set[str] | None = None) -> list[str]:
    got: list[str] = []
    for text in receive_input(str, timeout=None, consume=consume, exclude_keys=exclude_keys):
        got.append(text)
        if len(got) == 2:
            break
    return got


@flow
def reads_then_takes() -> list[list[str]]:
    return [
        _two(consume=False),
        _two(consume=False),
        _two(consume=False, exclude_keys={"m-a"}),
        _two(consume=True),
        _two(consume=False),
    ]


def _send_words(harness: TestHarness, run_id: str, words: str) -> None:
    for word in words:
        send_input(word, run_id, key=f"m-{word}", hst=harness.host)


def test_a_new_reading_receive_starts_from_the_first_message_again(
    harness: TestHarness,
) -> None:
    run = harness.start(reads_then_takes)
    run.wait_for(RunState.WAITING)
    _send_words(harness, run.id, "abcd")

    assert run.result() == [["a", "b"], ["a", "b"], ["b", "c"], ["a", "b"], ["c", "d"]]
    messages = harness.store.messages_of_run(run.id)
    assert [(m.key, m.status) for m in messages] == [
        ("m-a", "received"),
        ("m-b", "received"),
        ("m-c", "pending"),
        ("m-d", "pending"),
    ]


@flow
def reads_three_in_one_iteration() -> list[str]:
    got = []
    for vote in Vote.receive(timeout=None, consume=False):
        got.append(vote.choice)
        if len(got) == 3:
            break
    return got


def test_one_reading_iterator_yields_each_message_once_and_waits_for_new_ones(
    harness: TestHarness,
) -> None:
    run = harness.start(reads_three_in_one_iteration)
    run.wait_for(RunState.WAITING)
    for choice in ("yes", "no"):
        Vote(choice=choice).send_to(run.id)
    harness.wait_until(lambda: len(harness.store.waits_of_run(run.id)) == 3)

    Vote(choice="maybe").send_to(run.id)

    assert run.result() == ["yes", "no", "maybe"]
    assert {m.status for m in harness.store.messages_of_run(run.id)} == {"pending"}


@flow
def takes_two() -> list[str]:
    return _two(consume=True)


def test_taking_is_the_default_and_a_taken_message_is_not_seen_again(
    harness: TestHarness,
) -> None:
    run = harness.start(takes_two)
    run.wait_for(RunState.WAITING)
    _send_words(harness, run.id, "ab")

    assert run.result() == ["a", "b"]
    assert {m.status for m in harness.store.messages_of_run(run.id)} == {"received"}
