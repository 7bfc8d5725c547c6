"""A one-way message does not make its sender's later receives fail.

Prefect's receives wait for whatever comes within their timeout. tarry ends a receive
early when it waits in vain on a run that ended without answering (see
`test_messaging`), but a run that took a message and completed without replying (a
"bye", the seeds' `__EXIT__`) leaves its sender free to receive from anyone else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tarry import flow, pause_flow_run
from tarry.errors import RunFailed
from tarry.messaging import receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness, tarry_test_harness


@pytest.fixture(params=["resident", "suspending"])
def harness(request: pytest.FixtureRequest, database_url: str) -> Iterator[TestHarness]:
    resident_seconds = 7200 if request.param == "resident" else 0
    with tarry_test_harness(
        fake_clock=True, resident_seconds=resident_seconds, database_url=database_url
    ) as h:
        yield h


@flow
def leaves_on_bye() -> str:
    for message in receive_input(str, timeout=None):
        return str(message)
    return ""


@flow
def says_bye_then_listens(peer_id: str) -> str:
    send_input("bye", peer_id)
    try:
        for message in receive_input(str, timeout=10):
            return str(message)
    except RunFailed as exc:
        return f"told: {exc.reason}"
    return "nothing came"


@flow
def says_bye_pauses_then_listens(peer_id: str) -> str:
    send_input("bye", peer_id)
    pause_flow_run(key="listen", timeout=None)
    try:
        for message in receive_input(str, timeout=10):
            return str(message)
    except RunFailed as exc:
        return f"told: {exc.reason}"
    return "nothing came"


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
