"""The one-click choices of a question, read from its input's JSON Schema.

A question gets one link per choice when its input has a field with a fixed set of
values (an `Enum`, a `Literal`, a `bool`). When that field is all the input needs,
a choice answers the question (after a confirm on the page); when other fields are
required too (say, an authorization code), the choice opens the form with the
choice filled in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Choice", "Choices", "choices_of"]

_YES_NO = (("Yes", True), ("No", False))
_APPROVE_REJECT = (("Approve", True), ("Reject", False))


@dataclasses.dataclass(frozen=True)
class Choice:
    """One option: how it is labelled and the field values it gives."""

    label: str
    answer: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Choices:
    """A question's options."""

    field: str
    """The field the options set."""
    options: tuple[Choice, ...]
    complete: bool
    """Whether an option alone is a whole answer (no other field is required)."""


def choices_of(schema: dict[str, Any], *, approval: bool = False) -> Choices | None:
    """The options of the first fixed-choice field of `schema`, or `None`.

    Args:
        schema: The input's JSON Schema (an object schema with `properties`).
        approval: Label a yes/no question's options Approve and Reject.
    """
    properties: dict[str, Any] = schema.get("properties") or {}
    for name, field in properties.items():
        labelled = _options(_resolved(schema, field), approval)
        if labelled:
            options = tuple(Choice(label, {name: value}) for label, value in labelled)
            others = set(schema.get("required") or ()) - {name}
            return Choices(name, options, complete=not others)
    return None


def _resolved(schema: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    """`field` with a local `$ref` (as pydantic writes for enums) followed."""
    ref = field.get("$ref") or _single_ref(field)
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return field
    found: dict[str, Any] = (schema.get("$defs") or {}).get(ref.removeprefix("#/$defs/"), {})
    return found


def _single_ref(field: dict[str, Any]) -> str | None:
    # A field with a description is written as {"allOf": [{"$ref": ...}], ...}.
    parts = field.get("allOf") or []
    return parts[0].get("$ref") if len(parts) == 1 else None


def _options(field: dict[str, Any], approval: bool) -> tuple[tuple[str, Any], ...]:
    if "enum" in field:
        return tuple((str(value), value) for value in field["enum"])
    if "const" in field:
        return ((str(field["const"]), field["const"]),)
    if field.get("type") == "boolean":
        return _APPROVE_REJECT if approval else _YES_NO
    return ()
