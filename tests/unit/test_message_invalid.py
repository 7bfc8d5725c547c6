"""`MessageInvalid` is what both Prefect's and tarry's users catch for an invalid message.

Prefect's receive raises pydantic's `ValidationError`; tarry's `InputInvalid` carries
field errors. `MessageInvalid` is both, keeps both views of the problems, and comes
back as itself when a failed run's error is read from the journal.
"""

from __future__ import annotations

import pydantic
import pydantic_core
import pytest

from tarry import errors, serialization

PROBLEMS = [
    errors.FieldError(("value",), "Input should be a valid integer", "int_parsing"),
    errors.FieldError(("items", 0, "name"), "Field {name} required", "missing"),
]


def _invalid() -> errors.MessageInvalid:
    return errors.MessageInvalid(PROBLEMS, title="Order", key="order-auto-1")


def test_it_is_caught_as_a_validation_error_an_input_invalid_and_a_runtime_error() -> None:
    for kind in (pydantic.ValidationError, errors.InputInvalid, errors.TarryError, RuntimeError):
        with pytest.raises(kind):
            raise _invalid()


def test_it_shows_its_problems_to_tarry_and_to_pydantic_readers() -> None:
    invalid = _invalid()

    assert invalid.field_errors == PROBLEMS
    assert invalid.key == "order-auto-1"
    assert str(invalid) == (
        "invalid input: value: Input should be a valid integer; items.0.name: Field {name} required"
    )
    assert (invalid.title, invalid.error_count()) == ("Order", 2)
    assert [(e["loc"], e["type"]) for e in invalid.errors()] == [
        (("value",), "int_parsing"),
        (("items", 0, "name"), "missing"),
    ]


def test_it_comes_back_from_the_journal_as_itself() -> None:
    stored = serialization.error_to_json(_invalid())

    rebuilt = serialization.error_from_json(stored)

    assert isinstance(rebuilt, errors.MessageInvalid)
    assert isinstance(rebuilt, pydantic.ValidationError)
    assert str(rebuilt) == str(_invalid())
    assert rebuilt.field_errors == PROBLEMS


def test_pydantic_can_make_one_from_its_own_error_data() -> None:
    line: pydantic_core.InitErrorDetails = {"type": "missing", "loc": ("count",), "input": {}}

    made = errors.MessageInvalid.from_exception_data("Order", [line])

    assert isinstance(made, errors.MessageInvalid)
    assert [e.field for e in made.field_errors] == ["count"]
    assert str(made) == "invalid input: count: Field required"
