"""A sync flow sends at once, even where an event loop runs (a notebook, async app code).

Prefect decides by the flow: a sync flow's `send_input`, `respond` and `send_to` send
before they return; only an `async def` flow awaits them. Outside any run, on a loop,
the message is sent too, and awaiting the call still gives its key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tarry import flow
from tarry.input import RunInput
from tarry.messaging import receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness, tarry_test_harness


class Note(RunInput):
    text: str


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    with tarry_test_harness(fake_clock=True, resident_seconds=7200) as h:
        yield h


@flow
def collects(count: int) -> list[str]:
    texts = []
    for message in receive_input(None, timeout=None):
        texts.append(message["text"] if isinstance(message, dict) else message)
        if len(texts) == count:
            break
    return texts


@flow
def sends_two(target_id: str) -> list[str]:
    first = send_input("plain", target_id)
    second = Note(text="typed").send_to(target_id)
    return [first, second]


@flow
def echo_once() -> str:
    for message in receive_input(str, timeout=None, with_metadata=True):
        message.respond(f"echo: {message.value}")
        return str(message.value)
    return ""


@flow
def asks(echo_id: str) -> str:
    send_input("ping", echo_id)
    for reply in receive_input(str, timeout=None):
        return str(reply)
    return ""


async def _call_on_a_loop(fn: object, *args: str) -> object:
    assert callable(fn)
    return fn(*args)


def test_a_sync_flow_called_on_a_running_loop_sends_its_messages(harness: TestHarness) -> None:
    collecting = harness.start(collects, 2)
    collecting.wait_for(RunState.WAITING)

    keys = asyncio.run(_call_on_a_loop(sends_two, collecting.id))

    assert collecting.result() == ["plain", "typed"]
    assert isinstance(keys, list)
    assert [m.key for m in harness.store.messages_of_run(collecting.id)] == keys


def test_a_reply_from_a_sync_flow_on_a_running_loop_is_sent(harness: TestHarness) -> None:
    echoing = harness.start(echo_once)
    echoing.wait_for(RunState.WAITING)

    async def app() -> object:
        return asks(echoing.id)

    assert asyncio.run(app()) == "echo: ping"
    assert echoing.result() == "ping"


def test_outside_a_run_on_a_loop_the_message_is_sent_awaited_or_not(
    harness: TestHarness,
) -> None:
    collecting = harness.start(collects, 2)
    collecting.wait_for(RunState.WAITING)

    async def app() -> str:
        send_input("not awaited", collecting.id, hst=harness.host)
        return str(await send_input("awaited", collecting.id, hst=harness.host))

    awaited_key = asyncio.run(app())

    assert collecting.result() == ["not awaited", "awaited"]
    assert harness.store.messages_of_run(collecting.id)[1].key == awaited_key
