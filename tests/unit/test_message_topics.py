"""Which topics a receive of a type takes: Prefect's key prefixes, and unions and literals."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Optional

import pydantic
import pytest

from tarry.engine import mailbox
from tarry.input import RunInput


class Place(pydantic.BaseModel):
    city: str


class Order(RunInput):
    item: str


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "topic"),
    [
        ("text", "strautomaticruninput-auto"),
        (3, "intautomaticruninput-auto"),
        ([1, 2], "listautomaticruninput-auto"),
        (Place(city="Lyon"), "placeruninput-auto"),
        (Order(item="tea"), "order-auto"),
        (Order.with_initial_data(item="x")(item="tea"), "order-auto"),
        (Color.RED, "colorautomaticruninput-auto"),
    ],
)
def test_a_value_is_sent_under_prefects_default_key_prefix(value: object, topic: str) -> None:
    assert mailbox.topic_of_value(value) == topic


@pytest.mark.parametrize(
    ("input_type", "value"),
    [
        (str, "text"),
        (list[int], [1]),
        (dict[str, float], {"a": 1.0}),
        (Place, Place(city="Lyon")),
        (Order.with_initial_data(item="x"), Order(item="tea")),
        (Color, Color.RED),
        (Literal["a", "b"], "a"),
        (Optional[int], None),  # noqa: UP045 - the typing form is what is tested
        (int | str, "text"),
        (Annotated[int, "count"], 3),
    ],
)
def test_a_receive_of_a_type_takes_the_values_of_that_type(input_type: Any, value: Any) -> None:
    topics = mailbox.topics_of_type(input_type)
    assert topics is not None
    assert mailbox.topic_of_value(value) in topics


def test_a_receive_of_an_int_leaves_a_str() -> None:
    assert mailbox.topic_of_value("3") not in (mailbox.topics_of_type(int) or ())


@pytest.mark.parametrize("input_type", [None, Any, int | Any])
def test_a_receive_of_any_value_takes_every_topic(input_type: Any) -> None:
    assert mailbox.topics_of_type(input_type) is None
