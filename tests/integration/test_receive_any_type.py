"""`receive_input(type)` for any type pydantic validates, wrapped like the other plain types.

Prefect wraps a type that is not a `RunInput` or a model (`tuple[str, str]`,
`list[int]`, `dict[str, float]`, a union) in an automatic input with one field,
`value`: the receiver gets the value itself, or with `with_metadata=True` an object
whose `.value` it is. A message of that type is sent under the prefix of its class
(`tupleautomaticruninput-auto`), so a `receive_input(tuple[str, str])` takes it; as
in Prefect, `list[int]` and `list[str]` share the prefix of `list`.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from tarry import flow, pause_flow_run, resume_flow_run
from tarry.messaging import Message, receive_input, send_input
from tarry.states import RunState
from tarry.testing import TestHarness


class Place(pydantic.BaseModel):
    city: str


@pytest.fixture
def harness(parked_or_replayed: TestHarness) -> TestHarness:
    """Runs parked in memory, or replayed at every wait, on each store."""
    return parked_or_replayed


def _first(input_type: Any, *, with_metadata: bool = False) -> Any:
    for value in receive_input(input_type, timeout=None, with_metadata=with_metadata):
        return value
    raise AssertionError("the receive ended without a message")


@flow
def receives_one_of_each() -> list[Any]:
    pair = _first(tuple[str, str])
    numbers = _first(list[int])
    prices = _first(dict[str, float])
    place = _first(Place | None)
    either = _first(int | None, with_metadata=True)
    assert isinstance(either, Message)
    return [
        [type(pair).__name__, *pair],
        numbers,
        prices,
        place.city,
        either.value,
    ]


@flow
def sends_one_of_each(receiver_id: str) -> None:
    # Sent in another order than received: each receive takes its own type.
    send_input(Place(city="Lyon"), receiver_id)
    send_input({"tea": 2.5}, receiver_id)
    send_input(7, receiver_id)
    send_input([1, 2, 3], receiver_id)
    send_input(("left", "right"), receiver_id)


def test_each_generic_type_receives_its_values_unwrapped(harness: TestHarness) -> None:
    receiving = harness.start(receives_one_of_each)
    receiving.wait_for(RunState.WAITING)

    harness.start(sends_one_of_each, receiving.id).result()

    assert receiving.result() == [
        ["tuple", "left", "right"],
        [1, 2, 3],
        {"tea": 2.5},
        "Lyon",
        7,
    ]


@flow
def pauses_for_a_pair() -> list[str]:
    pair: tuple[str, str] = pause_flow_run(tuple[str, str], timeout=None)
    return [type(pair).__name__, *pair]


def test_a_pause_takes_a_generic_type_too(harness: TestHarness) -> None:
    run = harness.start(pauses_for_a_pair)
    harness.wait_until(run.open_waits)

    resume_flow_run(run.id, {"value": ["yes", "no"]})

    assert run.result() == ["tuple", "yes", "no"]


def test_a_type_pydantic_cannot_validate_is_refused_when_the_receive_is_made(
    harness: TestHarness,
) -> None:
    @flow
    def asks_for_an_instance() -> None:
        receive_input(Place(city="Lyon"))  # an instance, not a type

    with pytest.raises(TypeError, match="wait_for_input must be a RunInput"):
        asks_for_an_instance()
