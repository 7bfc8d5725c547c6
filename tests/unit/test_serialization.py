"""Values round-trip through JSON with their types; errors are rebuilt."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarry import errors, serialization


class Color(enum.Enum):
    RED = "red"


class Point(pydantic.BaseModel):
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class Box:
    label: str
    corner: Point
    tags: frozenset[str]


class CustomError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


VALUES: list[Any] = [
    None,
    True,
    3,
    2.5,
    "text é",
    [1, "a"],
    {"k": [1, {"n": None}]},
    (1, 2),
    {1, 2},
    frozenset({"a"}),
    {1: "int key"},
    {"__tarry__": "looks tagged"},
    dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.UTC),
    dt.date(2026, 1, 1),
    dt.time(12, 30),
    dt.timedelta(hours=1, microseconds=5),
    uuid.UUID(int=7),
    decimal.Decimal("1.10"),
    b"\x00\xff",
    Color.RED,
    Point(x=1, y=2),
    Box("b", Point(x=0, y=0), frozenset({"t"})),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_values_round_trip_with_their_type(value: Any) -> None:
    text = serialization.dumps(value)
    json.loads(text)
    back = serialization.loads(text)
    assert back == value
    assert type(back) is type(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner) | st.tuples(inner, inner),
    max_leaves=20,
)


@given(json_values)
def test_any_plain_value_round_trips(value: Any) -> None:
    assert serialization.loads(serialization.dumps(value)) == value


def test_unsupported_values_get_a_clear_error() -> None:
    with pytest.raises(errors.SerializationError, match=r"cannot store a value of type .*object"):
        serialization.dumps(object())


def test_digest_ignores_memory_addresses_but_not_values() -> None:
    a = serialization.inputs_digest((object(), 1), {"k": "v"})
    b = serialization.inputs_digest((object(), 1), {"k": "v"})
    c = serialization.inputs_digest((object(), 2), {"k": "v"})
    assert a == b != c


def test_errors_are_rebuilt_with_type_and_message() -> None:
    for exc in (ValueError("bad value"), CustomError(7, "seven"), KeyError("k")):
        rebuilt = serialization.error_from_json(serialization.error_to_json(exc))
        assert type(rebuilt) is type(exc)
        assert str(rebuilt) == str(exc)
        assert rebuilt.__dict__ == exc.__dict__


def test_unrebuildable_errors_keep_type_name_and_message() -> None:
    class Local(Exception):
        pass

    rebuilt = serialization.error_from_json(serialization.error_to_json(Local("gone")))
    assert isinstance(rebuilt, errors.StepFailed)
    assert rebuilt.type_name.endswith("Local")
    assert str(rebuilt).endswith("Local: gone")


def test_tarry_errors_derived_from_oserror_keep_their_type() -> None:
    timeout = errors.WaitTimeout("r1", "the pause", 3600)
    rebuilt = serialization.error_from_json(serialization.error_to_json(timeout))
    assert type(rebuilt) is errors.WaitTimeout
    assert str(rebuilt) == "run r1: nobody answered the pause within 1 hour"
    assert (rebuilt.run_id, rebuilt.seconds) == ("r1", 3600)


def test_plain_shows_stored_values_as_plain_json_without_tags_or_paths() -> None:
    value = {
        "box": Box("a", Point(x=1, y=2), frozenset({"t"})),
        "color": Color.RED,
        "when": dt.date(2026, 12, 6),
        "pair": (1, uuid.UUID(int=1)),
        "price": decimal.Decimal("1.50"),
        "wait": dt.timedelta(minutes=2),
        "raw": b"hi",
        "by_number": {1: "one"},
    }
    stored = json.loads(serialization.dumps(value))

    shown = serialization.plain(stored)

    assert shown == {
        "box": {"label": "a", "corner": {"x": 1, "y": 2}, "tags": ["t"]},
        "color": "red",
        "when": "2026-12-06",
        "pair": [1, "00000000-0000-0000-0000-000000000001"],
        "price": "1.50",
        "wait": 120.0,
        "raw": "aGk=",
        "by_number": {"1": "one"},
    }
    assert "__tarry__" not in json.dumps(shown)
    assert serialization.plain([1, "a", None]) == [1, "a", None]
