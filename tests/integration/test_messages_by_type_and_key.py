"""Each receive takes only the messages of its type (or key prefix); the others stay.

As in Prefect, where `send_input` stores a message under a key prefix derived from
its type (or the sender's `key_prefix=`) and `receive_input` reads only the prefix of
its own type (or its `key_prefix=`): a run sent a `str` and a `Place` gives each
receiver its own, and an `int` receiver leaves a message sent with
`key_prefix="heythere"` to the receiver that asks for that prefix. Messages that say
no type (stored before messages had one, or sent from the API, CLI or UI) are taken
by any receiver, as before.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pydantic
import pytest

from tarry import flow, pause_flow_run
from tarry.input import RunInput
from tarry.messaging import receive_input, send_input
from tarry.states import RunState
from tarry.storage import records
from tarry.testing import TestHarness


class Place(pydantic.BaseModel):
    city: str


class Order(RunInput):
    item: str


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


def _first(input_type: Any, key_prefix: str | None = None) -> Any:
    for value in receive_input(input_type, timeout=None, key_prefix=key_prefix):
        return value
    raise AssertionError("the receive ended without a message")


@flow
def number_then_greeting() -> list[Any]:
    return [_first(int), _first(str, key_prefix="heythere")]


@flow
def place_then_text_then_order() -> list[Any]:
    place = _first(Place)
    return [place.city, _first(str), _first(Order).item]


@flow
def choice() -> str:
    return str(_first(Literal["left", "right"]))


@flow
def any_number() -> int:
    return int(_first(int))


def _send(harness: TestHarness, run_id: str, value: Any, **options: Any) -> None:
    send_input(value, run_id, hst=harness.host, **options)


def test_an_int_receive_leaves_a_key_prefixed_message_to_its_receiver(
    harness: TestHarness,
) -> None:
    receiving = harness.start(number_then_greeting)
    receiving.wait_for(RunState.WAITING)

    _send(harness, receiving.id, "hello", key_prefix="heythere")
    _send(harness, receiving.id, 5)

    assert receiving.result() == [5, "hello"]


def test_a_str_and_a_place_each_go_to_their_own_receiver(harness: TestHarness) -> None:
    receiving = harness.start(place_then_text_then_order)
    receiving.wait_for(RunState.WAITING)

    _send(harness, receiving.id, Order(item="tea"))
    _send(harness, receiving.id, "a note")
    _send(harness, receiving.id, Place(city="Lyon"))

    assert receiving.result() == ["Lyon", "a note", "tea"]
    assert all(m.status == "received" for m in harness.store.messages_of_run(receiving.id))


def test_a_literal_receive_takes_a_str_message(harness: TestHarness) -> None:
    receiving = harness.start(choice)
    receiving.wait_for(RunState.WAITING)

    _send(harness, receiving.id, 7)
    _send(harness, receiving.id, "left")

    assert receiving.result() == "left"
    [left_alone] = [m for m in harness.store.messages_of_run(receiving.id) if m.data == "7"]
    assert left_alone.status == "pending"


@flow
def number_after_a_pause() -> int:
    pause_flow_run(key="go", timeout=None)
    return int(_first(int))


def test_a_message_stored_without_a_type_is_received_as_before(harness: TestHarness) -> None:
    receiving = harness.start(number_after_a_pause)
    receiving.wait_for(RunState.WAITING)
    # As tarry stored messages before they had a topic.
    older = records.MessageRecord(
        run_id=receiving.id, key="stored-before", data=json.dumps(12), sent_at=0.0
    )
    harness.store.send_message(older)

    harness.answer(receiving.id, key="go")

    assert receiving.result() == 12


def test_a_message_from_the_api_is_received_by_a_typed_receive(harness: TestHarness) -> None:
    receiving = harness.start(any_number)
    receiving.wait_for(RunState.WAITING)

    harness.send(receiving.id, 3)

    assert receiving.result() == 3


@flow
def text_then_place() -> list[str]:
    return [_first(str), _first(Place).city]


@flow
async def sends_a_place_then_text(receiver_id: str) -> None:
    await send_input(Place(city="Oslo"), receiver_id)
    await send_input("a note", receiver_id)


def test_an_async_flows_messages_carry_their_types(harness: TestHarness) -> None:
    receiving = harness.start(text_then_place)
    receiving.wait_for(RunState.WAITING)

    harness.start(sends_a_place_then_text, receiving.id).result()

    assert receiving.result() == ["a note", "Oslo"]
