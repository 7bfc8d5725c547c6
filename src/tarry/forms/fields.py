"""The answer form of a wait, generated from its input's JSON Schema (pure: no I/O).

A wait stores `InputSpec.to_json()`. `form_fields` turns its schema into one
`FormField` per property, for the template to render; `answer_from_form` turns the
submitted strings back into JSON data for `tarry.input.validate`, which stays the
judge: everything the browser checks is a courtesy to the person answering.

Widgets, by the field's schema (after following `$ref`, `allOf: [X]` and
`anyOf: [X, {"type": "null"}]`):

* `select`: `enum` or `const` values (Enum, Literal, unions of them) and
  `bool | None` (Yes / No / —). It gets an empty "—" option when the field is
  nullable or has no initial value, so a required choice is never made for the
  person by the browser picking the first option.
* `decision`: in a wait's form (`asked=`), its one yes/no (`tarry.forms.decisions`): two
  submit buttons, Approve / Reject or Yes / No. Submitted without a button, it is missing.
* `checkbox`: other `bool`s. Unticked means False, so it is never `required`.
* `number`: `int` and `float` (and `int | float`), with `min`, `max` and `step`.
* `textarea`: strings that are multi-line text: `format` "textarea", "multiline"
  or "multi-line" (`Field(json_schema_extra={"format": "textarea"})`), initial text
  with a line break, or `maxLength` over 200 unless the field has a `pattern`
  (a textarea cannot check one). Strings with another `format` stay `<input>`s.
* `text`: other strings, as `<input type=...>`: `email`, `url`, `date`,
  `datetime-local` or `time` from the `format`, else `text`.
* `json`: everything else (lists, nested models, dicts, unions of several types):
  a textarea taking JSON; text that is not JSON is submitted as a string.
"""

from __future__ import annotations

import dataclasses
import fractions
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from tarry.forms import decisions, headings, patterns

__all__ = ["FormField", "Widget", "answer_from_form", "form_fields"]

Widget = Literal["select", "decision", "checkbox", "number", "text", "textarea", "json"]
"""How a field is rendered; see the module docstring for the rules."""

_EMPTY_OPTION = ("", "—")
_LONG_TEXT = 200
_MULTILINE_FORMATS = frozenset({"textarea", "multiline", "multi-line"})
_INPUT_TYPES = {
    "email": "email",
    "uri": "url",
    "date": "date",
    "date-time": "datetime-local",
    "time": "time",
}
_UNCHECKED = frozenset({"", "0", "false", "off", "no"})
_MAX_RESOLVE = 16
_UNMAPPED = "x-tarry-unmapped"
"""Marks a resolved schema the form cannot map to a widget (it gets `json`)."""
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OFFSET = re.compile(r"(?:[zZ]|[+-][0-9]{2}:?[0-9]{2})\Z")
_SECONDS = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")
_DIGITS_ONLY = re.compile(
    r"\^?(?:\\d|\[(?:[0-9]-[0-9]|[0-9])+\]|[0-9]|\{[0-9]+(?:,[0-9]*)?\}|[+*?])+\$?"
)


@dataclasses.dataclass(frozen=True)
class FormField:
    """One control of an answer form, ready for a template."""

    name: str
    """The control's name: the schema property (the field's alias)."""
    label: str
    """The field's title, or its name made readable."""
    help: str | None
    """The field's description, shown as help text."""
    widget: Widget
    """How to render the field."""
    required: bool
    """Whether the browser must refuse an empty value (never for a checkbox)."""
    options: tuple[tuple[str, str], ...] = ()
    """For a `select`: `(value, label)` pairs in schema order, the empty option first."""
    initial: str = ""
    """The value to pre-fill: the spec's initial data or the schema default, as the
    control's string (`"true"`/`"false"` for a checkbox, JSON for a `json` field)."""
    attrs: dict[str, str] = dataclasses.field(default_factory=dict)
    """HTML attributes: `type`, `min`, `max`, `step`, `minlength`, `maxlength`,
    `pattern`, `inputmode`, `value` (checkbox), `spellcheck` (json)."""
    names_responder: bool = False
    """Whether the field is the responder's name (labelled "Your name"): the form asks no other."""

    @property
    def checked(self) -> bool:
        """Whether a checkbox starts ticked."""
        return self.widget == "checkbox" and self.initial == "true"


@dataclasses.dataclass(frozen=True)
class _Field:
    """A form field with what `answer_from_form` needs to read it back."""

    form: FormField
    nullable: bool
    choices: dict[str, Any]
    """Option value (as submitted) -> JSON value, for a `select`."""


def form_fields(
    spec_json: Mapping[str, Any], *, asked: decisions.Asked | None = None
) -> list[FormField]:
    """The controls of the answer form of a wait, one per schema property.

    Args:
        spec_json: What `InputSpec.to_json()` returned.
        asked: The wait whose form it is: its yes/no is then a `decision`, its
            responder's name field labelled "Your name" (`tarry.forms.decisions`).
            `None` for other forms (a flow's parameters).

    Returns:
        The fields in schema order.
    """
    return [field.form for field in _fields(spec_json, asked)]


def answer_from_form(
    spec_json: Mapping[str, Any],
    form: Mapping[str, list[str]],
    *,
    asked: decisions.Asked | None = None,
) -> dict[str, Any]:
    r"""Turn the strings of a submitted answer form into JSON data for validation.

    Never raises for bad input: a value that cannot be converted (a number that
    is not one, JSON that does not parse, an unknown option) is kept as the
    string, so that validation reports it next to its field. Of several values
    for one name, the last counts. Names that are not schema properties
    (`csrf_token`) are ignored.

    Args:
        spec_json: What `InputSpec.to_json()` returned.
        form: The submitted values by control name.
        asked: As for `form_fields`; a `decision` missing from the form is left out.

    Returns:
        The answer: a checkbox is True unless absent or "false"/"off"/"0"/"no";
        an empty field is left out (so its default applies), or None when the
        field is nullable; a select gives its option's JSON value; a number field
        an int or a float; a json field the parsed JSON; text fields the string
        (line breaks of textareas as "\n").
    """
    answer: dict[str, Any] = {}
    for field in _fields(spec_json, asked):
        found = _read(field, form.get(field.form.name) or [])
        if found is not _OMIT:
            answer[field.form.name] = found
    return answer


# --- fields of the schema -----------------------------------------------------------


def _fields(spec_json: Mapping[str, Any], asked: decisions.Asked | None = None) -> list[_Field]:
    schema: dict[str, Any] = spec_json.get("schema") or {}
    defs: dict[str, Any] = schema.get("$defs") or {}
    initial: dict[str, Any] = spec_json.get("initial") or {}
    required = set(schema.get("required") or ())
    properties: dict[str, Any] = schema.get("properties") or {}
    found = [
        _field(name, prop, defs, initial, name in required)
        for name, prop in properties.items()
        if isinstance(prop, dict)
    ]
    labelled = [_labelled(spec_json, field) for field in found]
    return labelled if asked is None else _with_roles(spec_json, asked, labelled)


def _with_roles(
    spec_json: Mapping[str, Any], asked: decisions.Asked, found: list[_Field]
) -> list[_Field]:
    """A wait's form: its yes/no as two buttons, its responder's name as "Your name"."""
    decision = decisions.decision_field(spec_json)
    responder = decisions.responder_field(spec_json)
    buttons = decisions.options(decisions.is_approval(spec_json, asked))
    return [_role(field, decision, responder, buttons) for field in found]


def _role(
    field: _Field, decision: str | None, responder: str | None, buttons: tuple[tuple[str, str], ...]
) -> _Field:
    form = field.form
    if form.name == decision:
        form = dataclasses.replace(form, widget="decision", required=True, options=buttons)
        return _Field(form, False, {"true": True, "false": False})
    if form.name == responder:
        form = dataclasses.replace(form, label=decisions.RESPONDER_LABEL, names_responder=True)
        return dataclasses.replace(field, form=form)
    return field


def _labelled(spec_json: Mapping[str, Any], field: _Field) -> _Field:
    label = headings.answer_label(spec_json, field.form.name, field.form.label)
    if label == field.form.label:
        return field
    return dataclasses.replace(field, form=dataclasses.replace(field.form, label=label))


def _field(
    name: str, prop: dict[str, Any], defs: dict[str, Any], initial: dict[str, Any], listed: bool
) -> _Field:
    node, nullable = _resolve(prop, defs)
    has_value = name in initial or "default" in node
    value = initial[name] if name in initial else node.get("default")
    values = _choice_values(node, nullable)
    if values is not None and None in values:
        values, nullable = [v for v in values if v is not None], True
    choices = _option_keys(values) if values is not None else {}
    widget = _widget(node, values is not None, value)
    form = FormField(
        name=name,
        label=prop["title"] if isinstance(prop.get("title"), str) else _humanise(name),
        help=prop.get("description") if isinstance(prop.get("description"), str) else None,
        widget=widget,
        required=listed and not nullable and widget != "checkbox",
        options=_options(choices, nullable or not has_value) if widget == "select" else (),
        initial=_initial(widget, value, choices),
        attrs=_attrs(widget, node, value),
    )
    return _Field(form, nullable, choices)


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema of the field's value, and whether it may be null."""
    node, nullable = dict(prop), False
    for _ in range(_MAX_RESOLVE):
        step = _unwrap(node, defs)
        if step is None:
            break
        node, null_here = step
        nullable = nullable or null_here
    return node, nullable


def _unwrap(node: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
    """One step of `_resolve`; the outer node's keys win over the ones it points to."""
    if _UNMAPPED in node:
        return None
    if isinstance(node.get("$ref"), str):
        target = _lookup(node["$ref"], defs)
        rest = _without(node, "$ref")
        return (
            ({**target, **rest}, False)
            if target is not None
            else ({**rest, _UNMAPPED: True}, False)
        )
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        return {**all_of[0], **_without(node, "allOf")}, False
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            return _unwrap_union(node[key], _without(node, key), defs)
    kinds = node.get("type")
    if isinstance(kinds, list):
        others = [kind for kind in kinds if kind != "null"]
        merged = {**node, "type": others[0] if len(others) == 1 else others}
        return (merged if len(others) == 1 else {**merged, _UNMAPPED: True}), "null" in kinds
    return None


def _unwrap_union(
    variants: list[Any], rest: dict[str, Any], defs: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    others = [v for v in variants if not (isinstance(v, dict) and v.get("type") == "null")]
    nullable = len(others) < len(variants)
    if len(others) == 1 and isinstance(others[0], dict):
        return {**others[0], **rest}, nullable
    merged = _merge_variants(others, defs)
    # A union the form cannot map is marked so that it is not unwrapped again.
    return ({**merged, **rest} if merged else {**rest, _UNMAPPED: True}), nullable


def _merge_variants(variants: list[Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """One schema for a union of choices, or of numbers; None for other unions."""
    resolved = [_resolve(v, defs)[0] for v in variants if isinstance(v, dict)]
    if len(resolved) != len(variants) or not resolved:
        return None
    choices = [_choice_values(node, False) for node in resolved]
    if all(values is not None for values in choices):
        return {"enum": [value for values in choices for value in values or ()]}
    kinds = {node.get("type") for node in resolved}
    if kinds <= {"integer", "number"}:
        return {"type": "number" if "number" in kinds else "integer"}
    return None


def _lookup(ref: str, defs: dict[str, Any]) -> dict[str, Any] | None:
    prefix = "#/$defs/"
    target = defs.get(ref[len(prefix) :]) if ref.startswith(prefix) else None
    return target if isinstance(target, dict) else None


def _without(node: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != key}


def _choice_values(node: dict[str, Any], nullable: bool) -> list[Any] | None:
    if isinstance(node.get("enum"), list):
        return list(node["enum"])
    if "const" in node:
        return [node["const"]]
    if node.get("type") == "boolean" and nullable:
        return [True, False]
    return None


def _widget(node: dict[str, Any], has_choices: bool, value: Any) -> Widget:
    kind = node.get("type")
    if has_choices:
        return "select"
    if _UNMAPPED in node:
        return "json"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "string":
        return "textarea" if _multiline(node, value) else "text"
    return "json"


def _multiline(node: dict[str, Any], value: Any) -> bool:
    text_format = node.get("format")
    if text_format in _MULTILINE_FORMATS:
        return True
    if text_format is not None:
        return False
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        return True
    longest = node.get("maxLength")
    return isinstance(longest, int) and longest > _LONG_TEXT and "pattern" not in node


def _humanise(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    return " ".join(word[:1].upper() + word[1:] for word in spaced.split()) or name


# --- options and initial values -----------------------------------------------------


def _option_keys(values: list[Any]) -> dict[str, Any]:
    """Option value -> JSON value; strings are themselves unless two values would clash."""
    unique = {json.dumps(value): value for value in values}
    keys = {value if isinstance(value, str) else dumped: value for dumped, value in unique.items()}
    return keys if len(keys) == len(unique) else unique


def _options(choices: dict[str, Any], with_empty: bool) -> tuple[tuple[str, str], ...]:
    options = tuple((key, _option_label(value)) for key, value in choices.items())
    return (_EMPTY_OPTION, *options) if with_empty and "" not in choices else options


def _option_label(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value if isinstance(value, str) else json.dumps(value)


def _initial(widget: Widget, value: Any, choices: dict[str, Any]) -> str:
    if widget == "select":
        keys = [key for key, choice in choices.items() if _same(choice, value)]
        return keys[0] if keys else _text(value)
    if widget == "json":
        return "" if value is None else json.dumps(value, ensure_ascii=False)
    return _text(value)


def _same(choice: Any, value: Any) -> bool:
    return type(choice) is type(value) and bool(choice == value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# --- HTML attributes ----------------------------------------------------------------


def _attrs(widget: Widget, node: dict[str, Any], value: Any) -> dict[str, str]:
    if widget == "checkbox":
        return {"type": "checkbox", "value": "true"}
    if widget == "number":
        return _number_attrs(node, value)
    if widget == "text":
        return _text_attrs(node, value)
    if widget == "textarea":
        return _length_attrs(node)
    if widget == "json":
        return {"spellcheck": "false"}
    return {}


def _number_attrs(node: dict[str, Any], value: Any) -> dict[str, str]:
    """`min`, `max` and `step` that the browser checks the way the server does.

    An integer field's bounds are rounded inwards (`gt=0` is `min=1`). With
    `multipleOf`, bounds are rounded to multiples, because the browser counts
    steps from `min`. A float's exclusive bound stays as `min`/`max`: the browser
    lets the bound itself through and the server refuses it. Numbers are exact
    fractions of their JSON text, so `0.1` is one tenth.
    """
    integer = node.get("type") == "integer"
    step = _step(node, integer)
    low = _bound(node, "minimum", "exclusiveMinimum", step, lower=True)
    high = _bound(node, "maximum", "exclusiveMaximum", step, lower=False)
    attrs = {"type": "number"}
    if low is not None:
        attrs["min"] = _number_text(low)
    if high is not None:
        attrs["max"] = _number_text(high)
    base = low if low is not None else _fraction(value) or fractions.Fraction(0)
    attrs["step"] = _number_text(step) if step is not None and base % step == 0 else "any"
    if low is not None and low >= 0:
        attrs["inputmode"] = "numeric" if integer else "decimal"
    return attrs


def _step(node: dict[str, Any], integer: bool) -> fractions.Fraction | None:
    step = _fraction(node.get("multipleOf"))
    if step is not None and (step <= 0 or (integer and step.denominator != 1)):
        step = None
    return fractions.Fraction(1) if step is None and integer else step


def _bound(
    node: dict[str, Any],
    inclusive_key: str,
    exclusive_key: str,
    step: fractions.Fraction | None,
    lower: bool,
) -> fractions.Fraction | None:
    """The tightest bound of `inclusive_key` and `exclusive_key`, rounded to `step`."""
    found: list[fractions.Fraction] = []
    for key, exclusive in ((inclusive_key, False), (exclusive_key, True)):
        bound = _fraction(node.get(key))
        if bound is None:
            continue
        if step is not None:
            steps = math.ceil(bound / step) if lower else math.floor(bound / step)
            if exclusive and steps * step == bound:
                steps += 1 if lower else -1
            bound = steps * step
        found.append(bound)
    if not found:
        return None
    return max(found) if lower else min(found)


def _fraction(value: Any) -> fractions.Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    # The float's shortest text, as JSON wrote it: 0.1 is one tenth, not 0.1000000000000000055.
    return fractions.Fraction(repr(value) if isinstance(value, float) else value)


def _number_text(value: fractions.Fraction) -> str:
    """A valid HTML number: fixed-point decimals ("1E+2" is not one)."""
    twos, fives, rest = 0, 0, value.denominator
    while rest % 2 == 0:
        twos, rest = twos + 1, rest // 2
    while rest % 5 == 0:
        fives, rest = fives + 1, rest // 5
    if rest != 1:  # not a finite decimal: cannot come from JSON numbers, but be safe
        return repr(float(value))
    scale = max(twos, fives)
    scaled = abs(value.numerator) * (10**scale // value.denominator)
    digits = str(scaled).rjust(scale + 1, "0")
    text = f"{digits[: len(digits) - scale]}.{digits[len(digits) - scale :]}" if scale else digits
    return ("-" if value < 0 else "") + text


def _text_attrs(node: dict[str, Any], value: Any) -> dict[str, str]:
    input_type = _input_type(node, value)
    attrs = {"type": input_type}
    if input_type in ("time", "datetime-local"):
        if isinstance(value, str) and _SECONDS.search(value):
            attrs["step"] = "1"
        return attrs
    if input_type == "date":
        return attrs
    attrs.update(_length_attrs(node))
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        translated = patterns.browser_pattern(pattern)
        if translated is not None:
            attrs["pattern"] = translated
            attrs["data-error-message"] = patterns.pattern_message(node)
        if _DIGITS_ONLY.fullmatch(pattern):
            attrs["inputmode"] = "numeric"
    return attrs


def _input_type(node: dict[str, Any], value: Any) -> str:
    input_type = _INPUT_TYPES.get(str(node.get("format")), "text")
    # The browser's date and time inputs hold no time zone: an aware initial
    # value would be dropped, so it is shown as text instead.
    if input_type in ("datetime-local", "time") and isinstance(value, str):
        return "text" if _OFFSET.search(value) else input_type
    return input_type


def _length_attrs(node: dict[str, Any]) -> dict[str, str]:
    # The browser counts UTF-16 code units, pydantic code points: text with
    # emoji reaches `maxlength` early. Rare enough to keep the typing limit.
    attrs: dict[str, str] = {}
    for key, attr in (("minLength", "minlength"), ("maxLength", "maxlength")):
        if isinstance(node.get(key), int) and not isinstance(node.get(key), bool):
            attrs[attr] = str(node[key])
    return attrs


# --- reading an answer back ---------------------------------------------------------

_OMIT: Any = object()
"""Marks a field left out of the answer, so that its default applies."""


def _read(field: _Field, values: list[str]) -> Any:
    widget = field.form.widget
    if widget == "checkbox":
        return any(value.strip().lower() not in _UNCHECKED for value in values)
    if not values:
        return _OMIT
    raw = values[-1]
    if widget in ("textarea", "json"):
        raw = raw.replace("\r\n", "\n")
    if raw == "" and raw not in field.choices:
        return None if field.nullable else _OMIT
    readers: dict[str, Callable[[str], Any]] = {
        "select": lambda text: field.choices.get(text, text),
        "decision": lambda text: field.choices.get(text.strip().lower(), text),
        "number": _read_number,
        "json": _read_json,
    }
    return readers.get(widget, str)(raw)


def _read_number(raw: str) -> Any:
    text = raw.strip()
    try:
        if _INTEGER.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            # An infinite float (`1e999`) goes on as one: the input boundary refuses it
            # by name, where pydantic would turn the text into infinity and store null.
            return float(text)
    except ValueError:  # more digits than int() converts
        return raw
    return raw


def _read_json(raw: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
