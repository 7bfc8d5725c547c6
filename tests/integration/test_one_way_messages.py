"""A one-way message does not make its sender's later receives fail.

Prefect's receives wait for whatever comes within their timeout. tarry ends a receive
early when it waits in vain on a run that ended without answering (see
`test_messaging`), but a run that took a message and completed without replying (a
"bye", the seeds' `__EXIT__`) leaves its sender free to receive from anyone else.
"""

from __future__ import annotations

import pytest

from tarry import flow, pause_flow_run
from tarry.errors import RunFailed
from tarry.messaging import receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


@flow
def leaves_on_bye() -> str:
    for message in receive_input(str, timeout=None):
        return str(message)
    return ""


def _first_message_or_why() -> str:
    try:
        for message in receive_input(str, timeout=10):
            return str(message)
    except RunFailed as exc:
        return f"told: {exc.reason}"
    return "nothing came"


@flow
def says_bye_then_listens(peer_id: str) -> str:
    send_input("bye", peer_id)
    return _first_message_or_why()


@flow
def says_bye_pauses_then_listens(peer_id: str) -> str:
    send_input("bye", peer_id)
    pause_flow_run(key="listen", timeout=None)
    return _first_message_or_why()


@flow
def says_hi(listener_id: str) -> None:
    send_input("hi", listener_id)


def _wait_until_receiving(harness: TestHarness, run_id: str) -> None:
    handle = harness.handle(run_id)
    handle.wait_for(RunState.WAITING)
    assert [w.kind.value for w in handle.open_waits()] == ["message"], handle.describe()


def test_a_receive_open_when_the_peer_completes_goes_on(harness: TestHarness) -> None:
    leaving = harness.start(leaves_on_bye)
    leaving.wait_for(RunState.WAITING)
    listening = harness.start(says_bye_then_listens, leaving.id)
    assert leaving.result() == "bye"
    _wait_until_receiving(harness, listening.id)

    harness.start(says_hi, listening.id).result()

    assert listening.result() == "hi"


def test_a_receive_opened_after_the_peer_completed_goes_on(harness: TestHarness) -> None:
    leaving = harness.start(leaves_on_bye)
    leaving.wait_for(RunState.WAITING)
    listening = harness.start(says_bye_pauses_then_listens, leaving.id)
    assert leaving.result() == "bye"
    listening.wait_for(RunState.WAITING)
    harness.answer(listening.id, key="listen")
    _wait_until_receiving(harness, listening.id)

    harness.start(says_hi, listening.id).result()

    assert listening.result() == "hi"


def test_a_message_the_peer_never_took_still_ends_the_receive(harness: TestHarness) -> None:
    ended = harness.start(leaves_on_bye)
    ended.wait_for(RunState.WAITING)
    harness.send(ended.id, "first")
    assert ended.result() == "first"

    listening = harness.start(says_bye_then_listens, ended.id)

    assert listening.result() == "told: it ended (Completed) without answering"
