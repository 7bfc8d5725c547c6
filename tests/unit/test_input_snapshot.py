"""What automatic and derived inputs look like as JSON, written out in full.

Stored waits and the answer forms of other processes read these documents, so
their shape must not change when the code that makes them moves.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tarry import loader
from tarry.input import RunInput, input_spec


class Greeting(RunInput):
    """What to call the person."""

    name: str = Field(description="Who to greet", min_length=1)
    times: int = 1


def test_an_automatic_int_input_has_this_schema() -> None:
    assert input_spec(int).schema == {
        "additionalProperties": False,
        "properties": {"value": {"title": "Value", "type": "integer"}},
        "required": ["value"],
        "title": "AutomaticRunInput",
        "type": "object",
    }


def test_an_automatic_literal_input_stores_this_spec() -> None:
    assert input_spec(Literal["a", "b"]).to_json() == {
        "schema": {
            "additionalProperties": False,
            "properties": {"value": {"enum": ["a", "b"], "title": "Value", "type": "string"}},
            "required": ["value"],
            "title": "AutomaticRunInput",
            "type": "object",
        },
        "description": None,
        "initial": {},
        "unwrap": True,
        "model_ref": None,
        "value_type_ref": None,
    }


def test_an_automatic_float_input_names_its_type() -> None:
    assert input_spec(float).to_json()["value_type_ref"] == "builtins:float"


def test_automatic_inputs_keep_their_model_name_and_module() -> None:
    model = input_spec(int).model
    assert model is not None
    assert (model.__name__, model.__qualname__) == ("AutomaticRunInput", "AutomaticRunInput")
    assert model.__module__ == "tarry.input"


def test_a_derived_input_stores_this_spec() -> None:
    derived = Greeting.with_initial_data("Say **hello**", name="anonymous")
    assert input_spec(derived).to_json() == {
        "schema": {
            "additionalProperties": False,
            "description": "What to call the person.",
            "properties": {
                "name": {
                    "default": "anonymous",
                    "description": "Who to greet",
                    "minLength": 1,
                    "title": "Name",
                    "type": "string",
                },
                "times": {"default": 1, "title": "Times", "type": "integer"},
            },
            "title": "Greeting",
            "type": "object",
        },
        "description": "Say **hello**",
        "initial": {"name": "anonymous"},
        "unwrap": False,
        "model_ref": loader.object_ref(Greeting),
        "value_type_ref": None,
    }
