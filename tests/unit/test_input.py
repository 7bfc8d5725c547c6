"""Typed inputs: specs, checking answers before they are accepted, and what the flow gets."""

from __future__ import annotations

import enum
import json
import math
from typing import Any, Literal, Self

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from tarry import errors
from tarry.input import (
    InputSpec,
    RunInput,
    initial_complete,
    input_spec,
    to_value,
    validate,
)

# --- models of the seed (Prefect's course 106) -------------------------------------


class UserNameInput(RunInput):
    name: str


with pytest.warns(pydantic.PydanticDeprecatedSince20):

    class ShirtOrder(RunInput):
        size: Literal["small", "medium", "large", "xlarge"]
        color: Literal["red", "green", "black"]

        @pydantic.validator("color")
        def validate_age(cls, value, values, **kwargs):  # type: ignore[no-untyped-def]
            if value == "green" and values["size"] == "small":
                raise ValueError("Green is only in-stock for medium, large, and XL sizes.")

            return value


# --- the finance approval form (seed 000, challenge 4) ------------------------------


class FinanceApproval(RunInput):
    """Approve a training run that costs more than $1k."""

    decision: Literal["Approve", "Disapprove"] = Field(description="Approve the spend?")
    code: str | None = Field(
        None,
        pattern=r"^[1-9]{7}$",
        description="7-digit authorization code without zeroes",
    )

    @pydantic.model_validator(mode="after")
    def code_required_to_approve(self) -> Self:
        if self.decision == "Approve" and self.code is None:
            raise ValueError("An authorization code is required to approve.")
        return self


# --- other models -------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Signup(RunInput):
    """Sign up for the newsletter."""

    name: str = Field(title="Full name", description="As on your ID", min_length=2)
    age: int = Field(ge=18, le=130, description="Years")
    email: str = Field(pattern=r"^[^@]+@[^@]+$")
    color: Color = Color.GREEN

    @pydantic.field_validator("name")
    @classmethod
    def not_root(cls, value: str) -> str:
        if value == "root":
            raise ValueError("root cannot sign up")
        return value


class Item(pydantic.BaseModel):
    sku: str
    qty: int = Field(ge=1)


class Cart(pydantic.BaseModel):
    items: list[Item]


class Aliased(RunInput):
    user_name: str = Field(alias="userName")


def not_a_model() -> None:
    """Something importable that is not a model."""


def _refused(spec: InputSpec, data: Any) -> list[errors.FieldError]:
    with pytest.raises(errors.InputInvalid) as caught:
        validate(spec, data)
    return caught.value.field_errors


def _schema_only(spec: InputSpec) -> InputSpec:
    data = json.loads(json.dumps(spec.to_json()))
    data["model_ref"] = "tests.unit.no_such_module:Gone"
    data["value_type_ref"] = None
    rebuilt = InputSpec.from_json(data)
    assert rebuilt.model is None
    return rebuilt


# --- automatic inputs of plain types ------------------------------------------------


@pytest.mark.parametrize(
    ("value_type", "json_type"),
    [(str, "string"), (int, "integer"), (float, "number"), (bool, "boolean")],
)
def test_a_plain_type_becomes_one_required_value_field(value_type: type, json_type: str) -> None:
    spec = input_spec(value_type)
    assert spec.unwrap
    assert spec.schema["required"] == ["value"]
    assert spec.schema["properties"]["value"] == {"title": "Value", "type": json_type}
    assert spec.initial == {}
    assert spec.description is None
    assert spec.model_ref is None
    assert not initial_complete(spec)


def test_enum_and_literal_inputs_list_their_choices() -> None:
    enum_spec = input_spec(Color)
    assert enum_spec.schema["$defs"]["Color"]["enum"] == ["red", "green"]
    literal = input_spec(Literal["Approve", "Disapprove"])
    assert literal.schema["properties"]["value"]["enum"] == ["Approve", "Disapprove"]


@pytest.mark.parametrize(
    ("value_type", "answer", "stored", "value"),
    [
        (str, "Jeff", "Jeff", "Jeff"),
        (int, 42, 42, 42),
        (int, "42", 42, 42),
        (float, 2.5, 2.5, 2.5),
        (bool, True, True, True),
        (bool, "false", False, False),
        (Color, "red", "red", Color.RED),
        (Color, Color.GREEN, "green", Color.GREEN),
        (Literal["Approve", "Disapprove"], "Approve", "Approve", "Approve"),
    ],
)
def test_plain_inputs_take_bare_or_wrapped_answers_and_unwrap(
    value_type: Any, answer: Any, stored: Any, value: Any
) -> None:
    spec = input_spec(value_type)
    for data in (answer, {"value": answer}):
        saved = validate(spec, data)
        assert saved == {"value": stored}
        json.dumps(saved)
        result = to_value(spec, saved)
        assert result == value
        assert type(result) is type(value)


@pytest.mark.parametrize(
    ("value_type", "answer", "kind"),
    [
        (str, 5, "string_type"),
        (int, "many", "int_parsing"),
        (int, 2.5, "int_from_float"),
        (float, "inf", "finite_number"),
        (bool, "maybe", "bool_parsing"),
        (Color, "blue", "enum"),
        (Literal["Approve", "Disapprove"], "Maybe", "literal_error"),
    ],
)
def test_bad_plain_answers_are_refused_on_the_value_field(
    value_type: Any, answer: Any, kind: str
) -> None:
    [problem] = _refused(input_spec(value_type), answer)
    assert problem.loc == ("value",)
    assert problem.type == kind
    assert problem.message


def test_a_plain_input_without_an_answer_is_missing_its_value() -> None:
    assert _refused(input_spec(str), None) == [
        errors.FieldError(("value",), "Field required", "missing")
    ]


def test_unknown_fields_are_refused() -> None:
    [problem] = _refused(input_spec(str), {"value": "x", "other": 1})
    assert (problem.loc, problem.type) == (("other",), "extra_forbidden")


def test_a_model_input_refuses_an_answer_that_is_not_an_object() -> None:
    [problem] = _refused(input_spec(Signup), "Jeff")
    assert (problem.loc, problem.type) == ((), "model_type")


@pytest.mark.parametrize(
    "candidate",
    [None, "str", UserNameInput(name="x"), 3],
)
def test_anything_else_is_not_an_input(candidate: Any) -> None:
    with pytest.raises(TypeError, match="wait_for_input must be a RunInput"):
        input_spec(candidate)


@given(st.integers())
def test_any_int_round_trips(number: int) -> None:
    spec = input_spec(int)
    stored = validate(spec, number)
    assert to_value(spec, json.loads(json.dumps(stored))) == number


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    spec = input_spec(str)
    assert to_value(spec, validate(spec, text)) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_round_trips(number: float) -> None:
    spec = input_spec(float)
    stored = json.loads(json.dumps(validate(spec, number)))
    assert to_value(spec, stored) == number


# --- RunInput models and initial data -----------------------------------------------


def test_a_model_spec_has_its_schema_and_importable_ref() -> None:
    spec = input_spec(Signup)
    assert not spec.unwrap
    assert spec.model is Signup
    assert spec.model_ref == "tests.unit.test_input:Signup"
    assert spec.schema == Signup.model_json_schema()
    assert spec.description is None  # the docstring is not the form's description
    assert spec.schema["required"] == ["name", "age", "email"]
    assert not initial_complete(spec)


def test_with_initial_data_keeps_titles_descriptions_and_constraints() -> None:
    derived = Signup.with_initial_data(name="anonymous", age=30)
    props = input_spec(derived).schema["properties"]
    assert props["name"] == {
        "default": "anonymous",
        "title": "Full name",
        "description": "As on your ID",
        "minLength": 2,
        "type": "string",
    }
    assert props["age"] == {
        "default": 30,
        "description": "Years",
        "maximum": 130,
        "minimum": 18,
        "title": "Age",
        "type": "integer",
    }
    assert props["email"]["pattern"] == r"^[^@]+@[^@]+$"
    assert input_spec(derived).schema["required"] == ["email"]


def test_with_initial_data_keeps_validators_and_constraints() -> None:
    spec = input_spec(Signup.with_initial_data(name="anonymous", age=30))
    assert _refused(spec, {"email": "a@b", "name": "root"}) == [
        errors.FieldError(("name",), "root cannot sign up", "value_error")
    ]
    problems = _refused(spec, {"email": "nope", "name": "a", "age": 12})
    assert [(p.loc, p.type) for p in problems] == [
        (("name",), "string_too_short"),
        (("age",), "greater_than_equal"),
        (("email",), "string_pattern_mismatch"),
    ]


def test_with_initial_data_makes_a_subclass_with_the_same_name() -> None:
    derived = Signup.with_initial_data(name="anonymous")
    assert issubclass(derived, Signup)
    assert derived.__name__ == "Signup"
    assert input_spec(derived).schema["title"] == "Signup"


def test_missing_fields_take_the_initial_data_and_answers_override_it() -> None:
    spec = input_spec(Signup.with_initial_data(name="anonymous", age=30))
    assert validate(spec, {"email": "a@b"}) == {
        "name": "anonymous",
        "age": 30,
        "email": "a@b",
        "color": "green",
    }
    assert validate(spec, {"email": "a@b", "name": "Jeff"})["name"] == "Jeff"


def test_initial_data_is_validated_like_an_answer() -> None:
    spec = input_spec(Signup.with_initial_data(name="root", age=30, email="a@b"))
    assert initial_complete(spec)
    [problem] = _refused(spec, None)
    assert problem.loc == ("name",)


def test_accepting_the_initial_data_needs_every_required_field() -> None:
    partial = input_spec(Signup.with_initial_data(name="anonymous", age=30))
    assert not initial_complete(partial)
    assert _refused(partial, None) == [errors.FieldError(("email",), "Field required", "missing")]
    complete = input_spec(Signup.with_initial_data(name="anonymous", age=30, email="a@b"))
    assert initial_complete(complete)
    accepted = to_value(complete, validate(complete, None))
    assert isinstance(accepted, Signup)
    assert accepted.model_dump() == Signup(name="anonymous", age=30, email="a@b").model_dump()


def test_the_description_is_markdown_for_the_form() -> None:
    markdown = "## Sign up\n\nWe **never** share your email."
    spec = input_spec(Signup.with_initial_data(description=markdown))
    assert spec.description == markdown
    assert spec.initial == {}
    assert spec.schema == Signup.model_json_schema()


def test_with_initial_data_merges_when_called_again() -> None:
    first = Signup.with_initial_data(description="first", name="anonymous", age=20)
    second = first.with_initial_data(age=40)
    spec = input_spec(second)
    assert spec.initial == {"name": "anonymous", "age": 40}
    assert spec.description == "first"
    assert spec.model_ref == "tests.unit.test_input:Signup"
    assert issubclass(second, Signup)
    assert input_spec(second.with_initial_data(description="second")).description == "second"
    assert input_spec(first).initial == {"name": "anonymous", "age": 20}


def test_initial_data_is_stored_as_json() -> None:
    spec = input_spec(Signup.with_initial_data(color=Color.RED))
    assert spec.initial == {"color": "red"}
    assert spec.schema["properties"]["color"]["default"] == "red"


def test_with_initial_data_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError, match="Signup has no field 'nmae'"):
        Signup.with_initial_data(nmae="typo")


def test_aliases_are_used_in_initial_data_and_stored_answers() -> None:
    derived = Aliased.with_initial_data(user_name="anonymous")
    spec = input_spec(derived)
    assert spec.initial == {"userName": "anonymous"}
    assert validate(spec, None) == {"userName": "anonymous"}
    assert to_value(spec, validate(spec, {"userName": "Jeff"})).user_name == "Jeff"
    rebuilt = InputSpec.from_json(spec.to_json())
    assert rebuilt.model is not None
    assert validate(rebuilt, None) == {"userName": "anonymous"}


def test_any_pydantic_model_can_be_waited_for() -> None:
    spec = input_spec(Cart)
    stored = validate(spec, {"items": [{"sku": "a", "qty": "2"}]})
    assert stored == {"items": [{"sku": "a", "qty": 2}]}
    assert to_value(spec, stored) == Cart(items=[Item(sku="a", qty=2)])


def test_nested_problems_point_at_their_field() -> None:
    for spec in (input_spec(Cart), _schema_only(input_spec(Cart))):
        problems = _refused(spec, {"items": [{"sku": "a", "qty": 0}, {"qty": 1}]})
        assert [p.loc for p in problems] == [("items", 0, "qty"), ("items", 1, "sku")]


# --- storing specs and rebuilding them ----------------------------------------------


def test_to_json_is_json_and_has_the_documented_keys() -> None:
    data = input_spec(Signup.with_initial_data(description="hi", name="anonymous")).to_json()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "schema",
        "description",
        "initial",
        "unwrap",
        "model_ref",
        "value_type_ref",
    }


def test_from_json_rebuilds_the_real_model_with_its_initial_data() -> None:
    spec = input_spec(Signup.with_initial_data(description="**hi**", name="anonymous"))
    rebuilt = InputSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert rebuilt == spec
    assert rebuilt.model is not None
    assert issubclass(rebuilt.model, Signup)
    assert rebuilt.model.model_json_schema() == spec.schema
    assert input_spec(rebuilt.model).description == "**hi**"
    assert _refused(rebuilt, {"email": "a@b", "age": 20, "name": "root"})[0].message == (
        "root cannot sign up"
    )
    accepted = to_value(rebuilt, validate(rebuilt, {"email": "a@b", "age": 20}))
    assert isinstance(accepted, Signup)
    assert accepted.model_dump() == Signup(name="anonymous", age=20, email="a@b").model_dump()


def test_from_json_rebuilds_a_plain_model_as_itself() -> None:
    rebuilt = InputSpec.from_json(input_spec(Cart).to_json())
    assert rebuilt.model is Cart


@pytest.mark.parametrize("value_type", [str, int, float, bool, Color])
def test_from_json_rebuilds_automatic_inputs_of_importable_types(value_type: type) -> None:
    spec = input_spec(value_type)
    assert spec.value_type_ref is not None
    rebuilt = InputSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert rebuilt == spec
    assert rebuilt.model is spec.model


def test_an_enum_input_rebuilt_in_another_process_returns_the_member() -> None:
    rebuilt = InputSpec.from_json(input_spec(Color).to_json())
    assert to_value(rebuilt, validate(rebuilt, "green")) is Color.GREEN


def test_a_literal_input_is_rebuilt_from_its_choices() -> None:
    for choices in (Literal["Approve", "Disapprove"], Literal["only"]):
        spec = input_spec(choices)
        assert spec.value_type_ref is None
        rebuilt = InputSpec.from_json(spec.to_json())
        assert rebuilt.model is not None
        assert rebuilt.schema == spec.schema
        assert _refused(rebuilt, "nope")[0].loc == ("value",)


def test_classes_defined_in_functions_are_not_importable() -> None:
    class Local(RunInput):
        answer: int

    class LocalColor(enum.Enum):
        RED = "red"

    spec = input_spec(Local)
    assert spec.model_ref is None
    assert InputSpec.from_json(spec.to_json()).model is None
    enum_spec = input_spec(LocalColor)
    assert enum_spec.value_type_ref is None
    rebuilt = InputSpec.from_json(enum_spec.to_json())
    assert rebuilt.model is None
    assert to_value(rebuilt, validate(rebuilt, "red")) == "red"
    [problem] = _refused(rebuilt, "blue")
    assert (problem.loc, problem.type) == (("value",), "enum")


@pytest.mark.parametrize(
    "ref",
    [
        "tests.unit.no_such_module:Gone",
        "tests.unit.test_input:NoSuchClass",
        "tests.unit.test_input:not_a_model",
        "/nowhere/flows.py:Gone",
        "not a reference",
    ],
)
def test_from_json_never_raises_for_an_unimportable_ref(ref: str) -> None:
    data = input_spec(Signup.with_initial_data(name="anonymous")).to_json()
    rebuilt = InputSpec.from_json({**data, "model_ref": ref})
    assert rebuilt.model is None
    assert rebuilt.initial == {"name": "anonymous"}


def test_a_schema_only_spec_checks_types_and_constraints() -> None:
    spec = _schema_only(input_spec(Signup.with_initial_data(name="anonymous")))
    problems = _refused(spec, {"name": "a", "age": "old", "email": "nope", "shoe": 42})
    assert [(p.loc, p.type) for p in problems] == [
        (("name",), "minLength"),
        (("age",), "type"),
        (("email",), "pattern"),
        (("shoe",), "extra_forbidden"),
    ]
    assert problems[0].message == "'a' is too short"
    assert _refused(spec, {}) == [
        errors.FieldError(("age",), "Field required", "missing"),
        errors.FieldError(("email",), "Field required", "missing"),
    ]


def test_a_schema_only_spec_stores_the_answer_with_defaults() -> None:
    spec = _schema_only(input_spec(Signup.with_initial_data(name="anonymous")))
    stored = validate(spec, {"age": 30, "email": "a@b"})
    assert stored == {"name": "anonymous", "age": 30, "email": "a@b", "color": "green"}
    assert to_value(spec, stored) == stored


def test_a_schema_only_plain_input_unwraps_the_raw_value() -> None:
    spec = _schema_only(input_spec(int))
    assert to_value(spec, validate(spec, 7)) == 7
    [problem] = _refused(spec, "seven")
    assert (problem.loc, problem.type) == (("value",), "type")


# --- the seed's three snippets ------------------------------------------------------


def test_seed_greet_user_with_a_plain_str() -> None:
    spec = input_spec(str)
    assert spec.schema["properties"]["value"]["title"] == "Value"
    stored = validate(spec, "Jeff")
    assert f"Hello, {to_value(spec, stored)}!" == "Hello, Jeff!"


def test_seed_user_name_defaults_to_anonymous() -> None:
    spec = input_spec(UserNameInput.with_initial_data(name="anonymous"))
    assert "name" not in spec.schema.get("required", [])  # the form shows "Name (Optional)"
    assert spec.schema["properties"]["name"]["default"] == "anonymous"
    assert initial_complete(spec)
    accepted = to_value(spec, validate(spec, None))
    assert isinstance(accepted, UserNameInput)
    assert accepted.name == "anonymous"
    assert to_value(spec, validate(spec, {"name": "Jeff"})).name == "Jeff"


def test_seed_shirt_order_form_lists_sizes_and_colors() -> None:
    props = input_spec(ShirtOrder).schema["properties"]
    assert props["size"]["enum"] == ["small", "medium", "large", "xlarge"]
    assert props["color"]["enum"] == ["red", "green", "black"]


def test_seed_shirt_order_refuses_small_green_with_the_validators_message() -> None:
    spec = input_spec(ShirtOrder)
    assert _refused(spec, {"size": "small", "color": "green"}) == [
        errors.FieldError(
            ("color",), "Green is only in-stock for medium, large, and XL sizes.", "value_error"
        )
    ]


def test_seed_shirt_order_accepts_medium_red() -> None:
    spec = input_spec(ShirtOrder)
    stored = validate(spec, {"size": "medium", "color": "red"})
    assert stored == {"size": "medium", "color": "red"}
    order = to_value(spec, stored)
    assert isinstance(order, ShirtOrder)
    assert str(order) == "size='medium' color='red'"


def test_seed_shirt_order_keeps_its_validator_with_initial_data() -> None:
    spec = input_spec(ShirtOrder.with_initial_data(size="small"))
    [problem] = _refused(spec, {"color": "green"})
    assert problem.message == "Green is only in-stock for medium, large, and XL sizes."
    assert validate(spec, {"color": "black"}) == {"size": "small", "color": "black"}


def test_a_validator_that_crashes_refuses_the_answer() -> None:
    # `values["size"]` raises KeyError when the size itself was refused.
    [problem] = _refused(input_spec(ShirtOrder), {"size": "tiny", "color": "green"})
    assert problem.loc == ()
    assert problem.type == "validator_error"
    assert "KeyError" in problem.message


def test_to_value_lets_the_flow_see_an_answer_that_no_longer_fits() -> None:
    with pytest.raises(pydantic.ValidationError):
        to_value(input_spec(ShirtOrder), {"size": "small", "color": "green"})


# --- the finance approval form ------------------------------------------------------


def test_finance_form_offers_two_choices_and_a_code_pattern() -> None:
    spec = input_spec(FinanceApproval.with_initial_data(decision="Approve"))
    props = spec.schema["properties"]
    assert props["decision"]["enum"] == ["Approve", "Disapprove"]
    assert props["decision"]["default"] == "Approve"
    assert props["code"]["anyOf"][0]["pattern"] == r"^[1-9]{7}$"
    assert props["code"]["description"] == "7-digit authorization code without zeroes"


def test_finance_approval_needs_a_code() -> None:
    spec = input_spec(FinanceApproval.with_initial_data(decision="Approve"))
    assert _refused(spec, None) == [
        errors.FieldError((), "An authorization code is required to approve.", "value_error")
    ]


def test_finance_code_must_be_seven_digits_without_zeroes() -> None:
    spec = input_spec(FinanceApproval)
    for code in ("1234056", "123456", "12345678", "abcdefg"):
        [problem] = _refused(spec, {"decision": "Approve", "code": code})
        assert (problem.loc, problem.type) == (("code",), "string_pattern_mismatch")


def test_finance_valid_answers_are_accepted() -> None:
    spec = input_spec(FinanceApproval)
    approved = to_value(spec, validate(spec, {"decision": "Approve", "code": "1234567"}))
    assert (approved.decision, approved.code) == ("Approve", "1234567")
    refused = to_value(spec, validate(spec, {"decision": "Disapprove"}))
    assert (refused.decision, refused.code) == ("Disapprove", None)


def test_finance_form_checked_by_schema_only() -> None:
    spec = _schema_only(input_spec(FinanceApproval.with_initial_data(decision="Approve")))
    [problem] = _refused(spec, {"code": "1234056"})
    assert (problem.loc, problem.type) == (("code",), "pattern")
    assert problem.message == "7-digit authorization code without zeroes"  # not the regex
    [problem] = _refused(spec, {"decision": "Maybe"})
    assert (problem.loc, problem.type) == (("decision",), "enum")
    assert validate(spec, {"code": "1234567"}) == {"decision": "Approve", "code": "1234567"}
    # Cross-field rules are Python code: without the model they cannot be checked.
    assert validate(spec, None) == {"decision": "Approve", "code": None}


def test_input_invalid_message_names_each_field() -> None:
    with pytest.raises(errors.InputInvalid, match=r"invalid input: code: 7-digit authorization"):
        validate(input_spec(FinanceApproval), {"decision": "Approve", "code": "0000000"})


def test_infinity_is_not_a_float_answer() -> None:
    assert _refused(input_spec(float), math.inf)[0].loc == ("value",)


@pytest.mark.parametrize(
    ("candidate", "answer", "value"),
    [
        (tuple[str, str], ["a", "b"], ("a", "b")),
        (list[int], [1, "2"], [1, 2]),
        (dict[str, float], {"tea": 2}, {"tea": 2.0}),
        (dict[str, float], {"value": {"tea": 2}}, {"tea": 2.0}),
        (int | None, {"value": None}, None),
        (int | str, "x", "x"),
        (list[UserNameInput], [{"name": "Ann"}], [UserNameInput(name="Ann")]),
    ],
)
def test_any_type_pydantic_validates_is_an_automatic_input(
    candidate: Any, answer: Any, value: Any
) -> None:
    spec = input_spec(candidate)

    assert spec.unwrap
    assert list(spec.schema["properties"]) == ["value"]
    assert to_value(spec, json.loads(json.dumps(validate(spec, answer)))) == value


def test_a_generic_input_rebuilt_elsewhere_is_checked_by_its_schema() -> None:
    rebuilt = InputSpec.from_json(json.loads(json.dumps(input_spec(tuple[str, str]).to_json())))

    assert rebuilt.model is None
    assert validate(rebuilt, ["a", "b"]) == {"value": ["a", "b"]}
    with pytest.raises(errors.InputInvalid):
        validate(rebuilt, ["a"])
