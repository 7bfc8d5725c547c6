"""The answer form: fields from the input's JSON Schema, browser patterns, answers back."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import re
import string
import subprocess
import sys
import unicodedata
from typing import Any, Literal, Self

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from tarry import errors
from tarry.forms.fields import FormField, answer_from_form, form_fields
from tarry.forms.patterns import browser_pattern
from tarry.input import InputSpec, RunInput, input_spec, to_value, validate

NODE = "/usr/bin/node"

# --- models ---------------------------------------------------------------------------


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(pydantic.BaseModel):
    street: str
    city: str


class Order(RunInput):
    """Every kind of field, each with a default so that any one can be answered alone."""

    color: Color = Field(default=Color.RED, description="Which colour")
    priority: Priority = Priority.LOW
    size: Literal["S", "M", "L"] = "M"
    gift: bool = False
    quantity: int = Field(default=1, ge=1, le=10)
    weight: float = Field(default=1.0, gt=0)
    name: str = Field(default="Ann", min_length=2, max_length=20, pattern=r"^[A-Z][a-z]+$")
    note: str | None = None
    rating: int | None = None
    shade: Color | None = None
    express: bool | None = None
    ship_to: Address = Address(street="Main St", city="Springfield")
    tags: list[str] = []


class Signup(RunInput):
    """Required fields: no defaults."""

    full_name: str = Field(title="Full name", description="As on your ID", min_length=2)
    color: Color
    level: Literal[1, 2, 3]
    agree: bool


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


class Numbers(RunInput):
    whole: int = Field(ge=0, le=100)
    open_whole: int = Field(gt=0, lt=10)
    below_zero: int = Field(ge=-5, le=-1)
    positive: float = Field(gt=0)
    halves: float = Field(gt=0, le=10, multiple_of=0.5)
    fives: int = Field(ge=1, multiple_of=5)
    anything: float
    either: int | float = 1


class Texts(RunInput):
    email: str = Field(json_schema_extra={"format": "email"})
    homepage: pydantic.AnyUrl
    day: datetime.date
    moment: datetime.datetime
    alarm: datetime.time
    essay: str = Field(max_length=2000)
    long_code: str = Field(max_length=500, pattern=r"^[a-z]+$")
    remarks: str = Field(json_schema_extra={"format": "textarea"})
    short: str = Field(max_length=200)
    camelCase_name: str = Field(alias="firstName")


def _spec(model: Any) -> dict[str, Any]:
    return input_spec(model).to_json()


def _by_name(model: Any) -> dict[str, FormField]:
    return {field.name: field for field in form_fields(_spec(model))}


# --- form fields ----------------------------------------------------------------------


def test_enums_become_selects_with_their_json_values() -> None:
    fields = _by_name(Order)
    assert fields["color"].widget == "select"
    assert fields["color"].options == (("red", "red"), ("green", "green"))
    assert fields["color"].initial == "red"
    assert fields["color"].help == "Which colour"
    assert fields["priority"].options == (("1", "1"), ("2", "2"))
    assert fields["priority"].initial == "1"


def test_a_required_select_starts_empty_so_the_browser_makes_no_choice() -> None:
    fields = _by_name(Signup)
    assert fields["color"].required
    assert fields["color"].options == (("", "—"), ("red", "red"), ("green", "green"))
    assert fields["color"].initial == ""
    assert fields["level"].options == (("", "—"), ("1", "1"), ("2", "2"), ("3", "3"))


def test_literal_and_optional_selects() -> None:
    fields = _by_name(Order)
    assert fields["size"].options == (("S", "S"), ("M", "M"), ("L", "L"))
    assert fields["size"].initial == "M"
    assert not fields["size"].required
    assert fields["shade"].widget == "select"
    assert fields["shade"].options == (("", "—"), ("red", "red"), ("green", "green"))
    assert fields["shade"].initial == ""


def test_booleans_are_checkboxes_and_never_required() -> None:
    gift = _by_name(Order)["gift"]
    agree = _by_name(Signup)["agree"]
    assert (gift.widget, gift.required, gift.initial, gift.checked) == (
        "checkbox",
        False,
        "false",
        False,
    )
    assert gift.attrs == {"type": "checkbox", "value": "true"}
    assert agree.widget == "checkbox"
    assert not agree.required
    assert _by_name(Order.with_initial_data(gift=True))["gift"].checked


def test_an_optional_boolean_is_a_yes_no_select() -> None:
    express = _by_name(Order)["express"]
    assert express.widget == "select"
    assert express.options == (("", "—"), ("true", "Yes"), ("false", "No"))


def test_integer_bounds_and_steps() -> None:
    fields = _by_name(Numbers)
    assert fields["whole"].attrs == {
        "type": "number",
        "min": "0",
        "max": "100",
        "step": "1",
        "inputmode": "numeric",
    }
    open_whole = fields["open_whole"].attrs
    assert (open_whole["min"], open_whole["max"]) == ("1", "9")
    assert "inputmode" not in fields["below_zero"].attrs
    # The browser counts steps from `min`, so `min` is rounded up to a multiple.
    assert (fields["fives"].attrs["min"], fields["fives"].attrs["step"]) == ("5", "5")


def test_float_bounds_and_steps() -> None:
    fields = _by_name(Numbers)
    # An exclusive float bound stays as the bound: the server refuses the bound itself.
    assert fields["positive"].attrs == {
        "type": "number",
        "min": "0",
        "step": "any",
        "inputmode": "decimal",
    }
    assert fields["halves"].attrs == {
        "type": "number",
        "min": "0.5",
        "max": "10",
        "step": "0.5",
        "inputmode": "decimal",
    }
    assert fields["anything"].attrs == {"type": "number", "step": "any"}
    assert fields["either"].widget == "number"
    assert fields["either"].attrs["step"] == "any"


def test_text_lengths_and_pattern() -> None:
    name = _by_name(Order)["name"]
    assert name.widget == "text"
    assert name.attrs == {
        "type": "text",
        "minlength": "2",
        "maxlength": "20",
        "pattern": "[A-Z][a-z]+",
        # No description, no error_message: a plain sentence, never the regex.
        "data-error-message": "This is not in the expected form.",
    }
    assert name.initial == "Ann"


def test_formats_choose_the_input_type() -> None:
    fields = _by_name(Texts)
    types = {name: field.attrs.get("type") for name, field in fields.items()}
    assert types["email"] == "email"
    assert types["homepage"] == "url"
    assert types["day"] == "date"
    assert types["moment"] == "datetime-local"
    assert types["alarm"] == "time"
    assert fields["homepage"].widget == "text"  # a long maxLength does not make a URL a textarea


def test_a_date_time_with_a_time_zone_is_shown_as_text() -> None:
    aware = datetime.datetime(2024, 5, 1, 9, 30, 15, tzinfo=datetime.UTC)
    naive = datetime.datetime(2024, 5, 1, 9, 30, 15)
    assert _by_name(Texts.with_initial_data(moment=aware))["moment"].attrs == {"type": "text"}
    local = _by_name(Texts.with_initial_data(moment=naive))["moment"]
    assert local.attrs == {"type": "datetime-local", "step": "1"}
    assert local.initial == "2024-05-01T09:30:15"


def test_textarea_rule() -> None:
    fields = _by_name(Texts)
    assert fields["essay"].widget == "textarea"
    assert fields["essay"].attrs == {"maxlength": "2000"}
    assert fields["long_code"].widget == "text"  # a pattern keeps the browser check
    assert fields["remarks"].widget == "textarea"
    assert fields["short"].widget == "text"
    multi = _by_name(Order.with_initial_data(note="line one\nline two"))["note"]
    assert multi.widget == "textarea"
    assert multi.initial == "line one\nline two"


def test_labels_help_and_aliases() -> None:
    fields = _by_name(Texts)
    assert fields["firstName"].label == "Firstname"  # pydantic's title of the alias
    signup = _by_name(Signup)
    assert (signup["full_name"].label, signup["full_name"].help) == ("Full name", "As on your ID")
    assert signup["full_name"].required
    assert signup["full_name"].attrs == {"type": "text", "minlength": "2"}
    assert _by_name(Order)["shade"].label == "Shade"  # a $ref property has no title of its own


def test_a_label_is_made_from_the_name_without_a_title() -> None:
    spec = {"schema": {"properties": {"dueDate_utc": {"type": "string"}}}}
    assert form_fields(spec)[0].label == "Due Date Utc"


def test_initial_data_pre_fills_the_form() -> None:
    derived = Order.with_initial_data(
        "Check the **order**.",
        color=Color.GREEN,
        priority=Priority.HIGH,
        quantity=4,
        weight=2.5,
        gift=True,
        rating=3,
        tags=["a", "b"],
    )
    spec = _spec(derived)
    assert spec["description"] == "Check the **order**."
    initial = {field.name: field.initial for field in form_fields(spec)}
    assert initial["color"] == "green"
    assert initial["priority"] == "2"
    assert initial["quantity"] == "4"
    assert initial["weight"] == "2.5"
    assert initial["gift"] == "true"
    assert initial["rating"] == "3"
    assert initial["tags"] == '["a", "b"]'
    assert json.loads(initial["ship_to"]) == {"street": "Main St", "city": "Springfield"}


def test_spec_initial_wins_over_the_schema_default() -> None:
    spec = _spec(Order)
    spec = {**spec, "initial": {"quantity": 9}}
    assert _by_name_json(spec)["quantity"].initial == "9"


def _by_name_json(spec: dict[str, Any]) -> dict[str, FormField]:
    return {field.name: field for field in form_fields(spec)}


def test_automatic_inputs_of_plain_types() -> None:
    (text,) = form_fields(_spec(str))
    assert (text.name, text.label, text.widget, text.required) == (
        "value",
        "Your answer",
        "text",
        True,
    )
    (flag,) = form_fields(_spec(bool))
    assert flag.widget == "checkbox"
    (number,) = form_fields(_spec(float))
    assert number.attrs == {"type": "number", "step": "any"}
    (choice,) = form_fields(_spec(Priority))
    assert choice.options == (("", "—"), ("1", "1"), ("2", "2"))
    (mixed,) = form_fields(_spec(Literal["a", 1]))
    assert mixed.options == (("", "—"), ("a", "a"), ("1", "1"))


def test_clashing_option_values_are_written_as_json() -> None:
    (choice,) = form_fields(_spec(Literal["1", 1]))
    assert choice.options == (("", "—"), ('"1"', "1"), ("1", "1"))
    assert answer_from_form(_spec(Literal["1", 1]), {"value": ['"1"']}) == {"value": "1"}
    assert answer_from_form(_spec(Literal["1", 1]), {"value": ["1"]}) == {"value": 1}


def test_nested_models_lists_and_unions_take_json() -> None:
    class Mixed(RunInput):
        address: Address
        tags: list[int]
        either: int | str
        maybe_list: list[str] | None = None
        mapping: dict[str, int] = {}

    fields = _by_name(Mixed)
    assert {name: field.widget for name, field in fields.items()} == dict.fromkeys(fields, "json")
    assert fields["address"].required
    assert not fields["maybe_list"].required
    assert fields["mapping"].initial == "{}"
    assert fields["address"].attrs == {"spellcheck": "false"}


def test_finance_approval_form() -> None:
    fields = _by_name(FinanceApproval)
    decision, code = fields["decision"], fields["code"]
    assert decision.widget == "select"
    assert decision.required
    assert decision.help == "Approve the spend?"
    assert decision.options == (("", "—"), ("Approve", "Approve"), ("Disapprove", "Disapprove"))
    assert code.widget == "text"
    assert not code.required
    assert code.help == "7-digit authorization code without zeroes"
    assert code.attrs == {
        "type": "text",
        "pattern": "[1-9]{7}",
        "inputmode": "numeric",
        "data-error-message": "7-digit authorization code without zeroes",
    }


def test_a_schema_without_properties_has_no_fields() -> None:
    assert form_fields({"schema": {}}) == []
    unknown = {"schema": {"properties": {"x": {"$ref": "#/$defs/Missing"}}}}
    assert [field.widget for field in form_fields(unknown)] == ["json"]


# --- answers from the form ------------------------------------------------------------


def _answer(model: Any, form: dict[str, list[str]]) -> Any:
    spec = input_spec(model)
    return to_value(spec, validate(spec, answer_from_form(spec.to_json(), form)))


@pytest.mark.parametrize(
    ("name", "submitted", "expected"),
    [
        ("color", ["green"], Color.GREEN),
        ("priority", ["2"], Priority.HIGH),
        ("size", ["L"], "L"),
        ("gift", ["true"], True),
        ("gift", ["on"], True),
        ("gift", [], False),
        ("gift", ["false", "true"], True),
        ("gift", ["false"], False),
        ("quantity", ["7"], 7),
        ("quantity", ["7.0"], 7),
        ("weight", ["0.25"], 0.25),
        ("weight", ["3"], 3.0),
        ("weight", ["1e-3"], 0.001),
        ("name", ["Bob"], "Bob"),
        ("note", [""], None),
        ("note", ["hi there"], "hi there"),
        ("rating", [""], None),
        ("rating", ["5"], 5),
        ("shade", [""], None),
        ("shade", ["green"], Color.GREEN),
        ("express", [""], None),
        ("express", ["false"], False),
        (
            "ship_to",
            ['{"street": "Elm St", "city": "Shelbyville"}'],
            Address(street="Elm St", city="Shelbyville"),
        ),
        ("tags", ['["x", "y"]'], ["x", "y"]),
        ("tags", ["[]"], []),
    ],
)
def test_round_trip_of_each_field_kind(name: str, submitted: list[str], expected: Any) -> None:
    answer = _answer(Order, {name: submitted, "csrf_token": ["t0k3n"]})
    got = getattr(answer, name)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize("name", ["color", "quantity", "name", "tags", "ship_to"])
def test_an_empty_optional_field_takes_its_default(name: str) -> None:
    assert answer_from_form(_spec(Order), {name: [""]}) == {"gift": False}
    assert _answer(Order, {name: [""]}) == Order()


def test_a_whole_order_round_trips() -> None:
    order = Order(
        color=Color.GREEN,
        priority=Priority.HIGH,
        size="S",
        gift=True,
        quantity=10,
        weight=0.5,
        name="Zed",
        note="fragile",
        rating=None,
        shade=Color.RED,
        express=True,
        ship_to=Address(street="1 Road", city="Town"),
        tags=["a"],
    )
    form = {
        "color": ["green"],
        "priority": ["2"],
        "size": ["S"],
        "gift": ["true"],
        "quantity": ["10"],
        "weight": ["0.5"],
        "name": ["Zed"],
        "note": ["fragile"],
        "rating": [""],
        "shade": ["red"],
        "express": ["true"],
        "ship_to": ['{"street": "1 Road", "city": "Town"}'],
        "tags": ['["a"]'],
        "unknown": ["ignored"],
    }
    spec = input_spec(Order)
    data = answer_from_form(spec.to_json(), form)
    assert "unknown" not in data
    assert validate(spec, data) == order.model_dump(mode="json")
    assert to_value(spec, validate(spec, data)) == order
    # Without the model class, the answer is checked against the stored schema.
    schema_only = dataclasses.replace(spec, model=None)
    assert validate(schema_only, data) == order.model_dump(mode="json")


def test_required_fields_round_trip_and_report_what_is_missing() -> None:
    spec = input_spec(Signup)
    form = {"full_name": ["Jo Bloggs"], "color": ["red"], "level": ["3"], "agree": ["true"]}
    assert to_value(spec, validate(spec, answer_from_form(spec.to_json(), form))) == Signup(
        full_name="Jo Bloggs", color=Color.RED, level=3, agree=True
    )
    empty = answer_from_form(spec.to_json(), {"full_name": [""], "color": [""], "level": [""]})
    assert empty == {"agree": False}
    with pytest.raises(errors.InputInvalid) as caught:
        validate(spec, empty)
    assert {e.loc for e in caught.value.field_errors} == {("full_name",), ("color",), ("level",)}


def test_values_that_do_not_convert_are_left_for_the_server_to_report() -> None:
    spec = input_spec(Order)
    form = {
        "quantity": ["lots"],
        "weight": ["heavy"],
        "priority": ["9"],
        "tags": ["not json"],
        "rating": ["1" * 5000],
    }
    data = answer_from_form(spec.to_json(), form)
    assert data == {
        "quantity": "lots",
        "weight": "heavy",
        "priority": "9",
        "tags": "not json",
        "rating": "1" * 5000,
        "gift": False,
    }
    with pytest.raises(errors.InputInvalid) as caught:
        validate(spec, data)
    assert {e.loc[0] for e in caught.value.field_errors} == {
        "quantity",
        "weight",
        "priority",
        "tags",
        "rating",
    }


def test_json_constants_and_deep_nesting_are_not_json() -> None:
    spec = _spec(Order)
    assert answer_from_form(spec, {"tags": ["NaN"]})["tags"] == "NaN"
    assert answer_from_form(spec, {"tags": ["[" * 100_000]})["tags"] == "[" * 100_000


def test_a_union_field_reads_json_or_keeps_the_text() -> None:
    class Either(RunInput):
        either: int | str

    assert _answer(Either, {"either": ["12"]}).either == 12
    assert _answer(Either, {"either": ["twelve"]}).either == "twelve"


def test_textarea_line_breaks_arrive_as_line_feeds() -> None:
    class Letter(RunInput):
        body: str = Field(max_length=5000)

    assert _answer(Letter, {"body": ["Dear Ann,\r\n\r\nHello."]}).body == "Dear Ann,\n\nHello."


def test_the_last_value_of_a_name_counts() -> None:
    assert answer_from_form(_spec(Order), {"quantity": ["2", "3"]})["quantity"] == 3


def test_automatic_input_round_trips() -> None:
    assert _answer(str, {"value": ["Jeff"]}) == "Jeff"
    assert _answer(int, {"value": ["42"]}) == 42
    assert _answer(float, {"value": ["-0.5"]}) == -0.5
    assert _answer(bool, {}) is False
    assert _answer(Priority, {"value": ["2"]}) is Priority.HIGH
    assert _answer(Literal["a", 1], {"value": ["1"]}) == 1
    with pytest.raises(errors.InputInvalid):
        _answer(str, {"value": [""]})


def test_finance_approval_answers() -> None:
    approved = _answer(FinanceApproval, {"decision": ["Approve"], "code": ["1234567"]})
    assert approved == FinanceApproval(decision="Approve", code="1234567")
    refused = _answer(FinanceApproval, {"decision": ["Disapprove"], "code": [""]})
    assert refused == FinanceApproval(decision="Disapprove", code=None)
    spec = input_spec(FinanceApproval)
    for code, loc in (("", ()), ("1230567", ("code",))):
        data = answer_from_form(spec.to_json(), {"decision": ["Approve"], "code": [code]})
        with pytest.raises(errors.InputInvalid) as caught:
            validate(spec, data)
        assert caught.value.field_errors[0].loc == loc


def _submit_unchanged(fields: list[FormField]) -> dict[str, list[str]]:
    """What a browser sends for a pre-filled form that nobody changed."""
    form: dict[str, list[str]] = {}
    for field in fields:
        if field.widget != "checkbox":
            form[field.name] = [field.initial]
        elif field.checked:
            form[field.name] = [field.attrs["value"]]
    return form


_ORDER_VALUES = st.fixed_dictionaries(
    {
        "color": st.sampled_from(Color),
        "priority": st.sampled_from(Priority),
        "size": st.sampled_from(["S", "M", "L"]),
        "gift": st.booleans(),
        "quantity": st.integers(1, 10),
        "weight": st.floats(min_value=0, exclude_min=True, allow_infinity=False),
        "name": st.from_regex(r"\A[A-Z][a-z]{1,19}\Z"),
        "note": st.none() | st.text(st.characters(exclude_characters="\r"), min_size=1),
        "rating": st.none() | st.integers(),
        "shade": st.none() | st.sampled_from(Color),
        "express": st.none() | st.booleans(),
        "ship_to": st.builds(Address, street=st.text(), city=st.text()),
        "tags": st.lists(st.text()),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ORDER_VALUES)
def test_a_pre_filled_form_submitted_unchanged_gives_the_initial_data(
    values: dict[str, Any],
) -> None:
    order = Order(**values)
    spec = input_spec(Order.with_initial_data(**values))
    data = answer_from_form(spec.to_json(), _submit_unchanged(form_fields(spec.to_json())))
    assert validate(spec, data) == order.model_dump(mode="json")


# --- browser patterns -----------------------------------------------------------------

_NODE_SCRIPT = r"""
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = cases.map(([pattern, texts]) => {
  let regex;
  try {
    regex = new RegExp("^(?:" + pattern + ")$", "v");
  } catch (error) {
    return String(error);
  }
  return texts.map((text) => regex.test(text));
});
process.stdout.write(JSON.stringify(results));
"""

_CODE_POINTS_SCRIPT = r"""
const patterns = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = patterns.map((pattern) => {
  const regex = new RegExp("^(?:" + pattern + ")$", "v");
  const found = [];
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    if (regex.test(String.fromCodePoint(code))) found.push(code);
  }
  return found;
});
process.stdout.write(JSON.stringify(results));
"""


def _node(script: str, payload: Any) -> Any:
    done = subprocess.run(
        [NODE, "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


PATTERNS = [
    # The patterns of real forms.
    r"^[1-9]{7}$",
    r"[1-9]{7}",
    r"^\d{3}-\d{4}$",
    r"^[A-Z][a-z]+$",
    r"a|b",
    r"^(?:red|green)$",
    r"[\w.+-]+@[\w-]+\.[\w.]+",
    r"^[^\s@]+$",
    r"^[a-z0-9_-]{3,16}$",
    r"^[^@]+@[^@]+$",
    r"^\+?[0-9 ]{7,15}$",
    r"^\d+(?:\.\d{1,2})?$",
    r"^[A-Z]{2}\d{2}[A-Z0-9]{4,30}$",
    r"colou?r",
    r"^#[0-9a-fA-F]{6}$",
    r"^/[a-z/]*$",
    r"^\$\d+$",
    # Syntax that Python and the `v` flag spell or mean differently.
    r"\bcat\b",
    r"^\w+$",
    r"^\s*$",
    r"\S+\s\S+",
    r"^\D\W$",
    r"^.{2,5}$",
    r"^[^a-c]*$",
    r"^(?P<word>ab)+$",
    r"(?<=@)\w+",
    r"(?<!x)y",
    r"^(?!admin$)\w+$",
    r"x{,3}y",
    r"a{",
    r"a}",
    r"]",
    r"[]a]+",
    r"[^]a]",
    r"[\]\\]",
    r"^\N{EM DASH}?\d$",
    r"^[\x20-\x7e]*$",
    r"[\d\s]",
    r"[^\W\d]",
    r"^[\u00c0-\u024f]+$",
    r"[&!#%,:;<=>@`~]",
    r"[(){}/|]",
    r"[.][*][+][?][$][\^]",
    r"[-a]",
    r"[a-]",
    r"[a\-z]",
    r"^[+*?.]$",
    r"\\",
    r"\-\/\@\#",
    '"quoted"|\'',
    r"a\Zb|c",
    r"^a|b$",
    r"^$",
    r"",
    r"^",
    r".*?x",
    r"(a|bc)*d$",
    r"\x41+\u00e9",
    r"^(?:ab?)*c$",
    r"^(?:a+)?b$",
    r"(?=\d)\w{2}",
    r"\t\n\x00",
    r"(?#a comment)z",
]

REFUSED = [
    r"(?i)abc",
    r"(?i:a)b",
    r"(?x) a b",
    r"(?a)\w",
    r"a*+",
    r"(?>a)",
    r"(a)\1",
    r"(?P<x>a)(?P=x)",
    r"(a)?(?(1)b|c)",
    r"\Bx",
    r"[[a]",
    r"[a--b]",
    r"[a&&b]",
    r"(",
    r"a**",
    r"(?<=a+)b",
    r"\p{L}",
    r"{1}",
]

ALPHABET = (
    string.ascii_lowercase
    + "ABCXYZ"
    + string.digits
    + "_-.+@/()[]{}|\\$^*?&!#%,:;<=>`~\"' \t\r\n\x00"
    + "éßΩ中٣²½\u00a0\u2028\u0085\ufeff\u3000\u001c\u0301‿—\U0001d7d8😀"
)
"""Characters a pattern may treat differently in Python and in the browser."""


def _mutate(case: tuple[str, int, str, bool]) -> str:
    text, index, char, insert = case
    index %= len(text) + 1
    return text[:index] + char + text[index:] if insert else text[:index] + text[index + 1 :]


def _texts(pattern: str) -> st.SearchStrategy[str]:
    matching = st.from_regex(pattern, alphabet=ALPHABET)
    mutated = st.tuples(matching, st.integers(0, 50), st.sampled_from(ALPHABET), st.booleans())
    texts = st.one_of(matching, mutated.map(_mutate), st.text(ALPHABET, max_size=12))
    # An <input> never holds a line feed; before a final one, Python's `$` would match.
    return texts.filter(lambda text: not text.endswith("\n"))


def _samples(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(text: str) -> None:
        found.append(text)

    collect()
    return found


def test_translations_read_well() -> None:
    assert browser_pattern(r"^[1-9]{7}$") == "[1-9]{7}"
    assert browser_pattern(r"[1-9]{7}") == r"[\s\S]*[1-9]{7}[\s\S]*"
    assert browser_pattern(r"^\d{3}-\d{4}$") == r"\p{Nd}{3}-\p{Nd}{4}"
    assert browser_pattern(r"^(?:red|green)$") == "(?:red|green)"
    assert browser_pattern(r"^a|b$") == r"a[\s\S]*|[\s\S]*b"
    assert browser_pattern(r"^[a-z0-9_-]{3,16}$") == r"[a-z0-9_\-]{3,16}"
    assert browser_pattern(r"^(?P<x>a)$") == "(?:a)"
    assert browser_pattern(r"x{,3}") == r"[\s\S]*x{0,3}[\s\S]*"
    assert browser_pattern("") == r"[\s\S]*"
    assert browser_pattern("^$") == ""
    assert browser_pattern(r"(?:a+)?") == r"[\s\S]*(?:a+)?[\s\S]*"


@pytest.mark.parametrize("pattern", REFUSED)
def test_patterns_the_browser_cannot_check_faithfully_are_refused(pattern: str) -> None:
    assert browser_pattern(pattern) is None


@pytest.mark.slow
def test_browser_agrees_with_python_re_search() -> None:
    cases: list[tuple[str, str, list[str]]] = []
    for pattern in PATTERNS:
        translated = browser_pattern(pattern)
        assert translated is not None, pattern
        cases.append((pattern, translated, _samples(_texts(pattern), 80)))
    results = _node(_NODE_SCRIPT, [[translated, texts] for _, translated, texts in cases])
    disagreements = []
    for (pattern, translated, texts), accepted in zip(cases, results, strict=True):
        assert isinstance(accepted, list), f"{pattern!r} -> {translated!r}: {accepted}"
        for text, browser in zip(texts, accepted, strict=True):
            if browser != bool(re.search(pattern, text)):
                disagreements.append((pattern, translated, text, browser))
    assert disagreements == []


def test_character_classes_agree_on_every_code_point() -> None:
    # Python's Unicode tables can be older than node's: compare the characters
    # both know (the unassigned ones of Python's tables are left out).
    classes = [r"\d", r"\w", r"\s", r"[^\W\d_]"]
    translated = [browser_pattern(f"^{cls}$") for cls in classes]
    assert all(translated)
    in_browser = _node(_CODE_POINTS_SCRIPT, translated)
    assigned = [
        code
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) not in ("Cn", "Cs")
    ]
    for cls, browser in zip(classes, in_browser, strict=True):
        regex = re.compile(cls)
        python = {code for code in assigned if regex.fullmatch(chr(code))}
        known = set(assigned)
        assert {code for code in browser if code in known} == python, cls


def test_form_patterns_compile_in_the_browser() -> None:
    patterns = [
        field.attrs["pattern"]
        for model in (Order, FinanceApproval, Texts)
        for field in form_fields(_spec(model))
        if "pattern" in field.attrs
    ]
    assert len(patterns) == 3
    results = _node(_NODE_SCRIPT, [[pattern, ["x"]] for pattern in patterns])
    assert all(isinstance(result, list) for result in results)


def test_the_spec_keeps_working_after_a_json_round_trip() -> None:
    stored = json.loads(json.dumps(_spec(FinanceApproval)))
    spec = InputSpec.from_json(stored)
    data = answer_from_form(stored, {"decision": ["Approve"], "code": ["7654321"]})
    assert validate(spec, data) == {"decision": "Approve", "code": "7654321"}
