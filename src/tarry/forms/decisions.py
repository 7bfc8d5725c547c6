"""Decisions that look like decisions: which field of a question is a yes/no to click (pure).

A wait's form shows its one decision as two submit buttons instead of a checkbox:

* **Approve** / **Reject** for an approval: `approve(...)`, or an input whose one `bool`
  field is named like one (`approved`, `is_approved`, `approve`, `approval`, `accept`,
  `accepted`), or a plain `bool` input named so (`Input("approval", bool)`);
* **Yes** / **No** for any other plain `bool` input (`pause_flow_run(bool)`).

Reject is the answer `False`, exactly as unticking the box was. A model with several `bool`
fields keeps its checkboxes. Two other fields get a role when they are strings:

* the *comment*: `comment`, `comments`, `reason`, `note` or `notes` (`approve`'s own
  answer carries an optional `comment`);
* the *responder's name*: `approver`, `approved_by`, `reviewer`, `reviewed_by`,
  `decided_by`, `your_name`, or any field whose schema says
  `"x-tarry-responder": true` (`Field(json_schema_extra={"x-tarry-responder": True})`).
  It is labelled "Your name" and is the form's only name field: its value is who answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APPROVE_REJECT",
    "RESPONDER_LABEL",
    "RESPONDER_MARK",
    "YES_NO",
    "Asked",
    "comment_field",
    "decision_field",
    "is_approval",
    "options",
    "responder_field",
]

APPROVE_REJECT = (("true", "Approve"), ("false", "Reject"))
"""The buttons of an approval: option value (as submitted) and label."""
YES_NO = (("true", "Yes"), ("false", "No"))
"""The buttons of any other yes/no question."""
RESPONDER_LABEL = "Your name"
"""The label of the field that names who answers."""
RESPONDER_MARK = "x-tarry-responder"
"""The schema key that marks a field as the responder's name."""

_APPROVAL_NAMES = frozenset(
    {"approve", "approved", "approval", "is_approved", "accept", "accepted", "is_accepted"}
)
_COMMENT_NAMES = frozenset({"comment", "comments", "reason", "note", "notes"})
_RESPONDER_NAMES = frozenset(
    {"approver", "approved_by", "reviewer", "reviewed_by", "decided_by", "your_name"}
)


@dataclasses.dataclass(frozen=True)
class Asked:
    """Which wait asks a question: what tells an approval from another yes/no."""

    name: str
    """The wait's name (`WaitRecord.name`)."""
    label: str
    """The wait's journal label (`approve:<name>` for `approve`)."""


def _properties(spec_json: Mapping[str, Any]) -> dict[str, Any]:
    schema = spec_json.get("schema") or {}
    found: dict[str, Any] = schema.get("properties") or {}
    return {name: prop for name, prop in found.items() if isinstance(prop, dict)}


def _is_bool(prop: Mapping[str, Any]) -> bool:
    return prop.get("type") == "boolean"


def _is_text(prop: Mapping[str, Any]) -> bool:
    if prop.get("type") == "string":
        return True
    variants = prop.get("anyOf") or []
    return any(isinstance(v, dict) and v.get("type") == "string" for v in variants)


def decision_field(spec_json: Mapping[str, Any]) -> str | None:
    """The name of the field the form shows as two buttons, or `None`.

    Args:
        spec_json: A wait's input spec (`InputSpec.to_json()`).
    """
    bools = [name for name, prop in _properties(spec_json).items() if _is_bool(prop)]
    if len(bools) != 1:
        return None
    (name,) = bools
    plain = bool(spec_json.get("unwrap")) and name == "value"
    return name if plain or name in _APPROVAL_NAMES else None


def is_approval(spec_json: Mapping[str, Any], asked: Asked) -> bool:
    """Whether the question's yes/no is an approval (Approve / Reject rather than Yes / No).

    Args:
        spec_json: The wait's input spec.
        asked: Which wait asks it.
    """
    if asked.label.startswith("approve:"):
        return True
    field = decision_field(spec_json)
    return field is not None and (field in _APPROVAL_NAMES or asked.name in _APPROVAL_NAMES)


def options(approval: bool) -> tuple[tuple[str, str], ...]:
    """The two buttons: `(value, label)` pairs, the yes first."""
    return APPROVE_REJECT if approval else YES_NO


def comment_field(spec_json: Mapping[str, Any]) -> str | None:
    """The name of the decision's comment field, if the question has a decision and one."""
    if decision_field(spec_json) is None:
        return None
    names = [n for n, p in _properties(spec_json).items() if n in _COMMENT_NAMES and _is_text(p)]
    return names[0] if names else None


def responder_field(spec_json: Mapping[str, Any] | None) -> str | None:
    """The name of the input's field that names who answers, or `None`.

    Args:
        spec_json: A wait's input spec.
    """
    properties = _properties(spec_json or {})
    for name, prop in properties.items():
        if prop.get(RESPONDER_MARK) is True and _is_text(prop):
            return name
    for name, prop in properties.items():
        if name in _RESPONDER_NAMES and _is_text(prop):
            return name
    return None
