"""What the answer form partial (`_answer_form.html`) needs, on its page or inline.

The fields come from `tarry.forms.fields`; here they get the values just submitted,
the validation errors next to the fields they concern, and the "Your name" field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from tarry import errors, safe_markdown
from tarry.forms import decisions, headings
from tarry.forms import fields as forms
from tarry.storage import records
from tarry.web import pages

__all__ = [
    "MAX_RESPONDER",
    "RESPONDER_FALLBACK",
    "RESPONDER_FIELD",
    "asked_by",
    "fields_context",
    "form_context",
    "heading_of",
    "responder_field",
]

RESPONDER_FIELD = "responder"
"""The name of the form's "Your name" field..."""
RESPONDER_FALLBACK = "_responder"
"""...unless the input has a field of that name (no model field starts with `_`)."""
MAX_RESPONDER = 200
"""How many characters of the responder's name are kept."""


def form_context(
    wait: records.WaitRecord,
    run: records.RunRecord,
    submitted: FormData | None = None,
    field_errors: list[errors.FieldError] | None = None,
) -> dict[str, Any]:
    """What the answer form partial needs.

    Args:
        wait: The wait the form answers.
        run: The wait's run.
        submitted: The form as it was sent, to show again (the initial data if `None`).
        field_errors: Why the submitted answer was refused.
    """
    spec: dict[str, Any] | None = json.loads(wait.spec) if wait.spec else None
    responder_name = responder_field(spec)
    responder = pages.form_text(submitted, responder_name) if submitted is not None else None
    found = fields_context(spec, submitted, field_errors, asked=asked_by(wait))
    decision = [f for f in found["fields"] if f.widget == "decision"]
    return {
        "wait": wait,
        "run": run,
        "heading": heading_of(wait, run, spec),
        "description": safe_markdown.render_markdown(headings.prose(spec)),
        "has_spec": spec is not None,
        **found,
        "decision": decision[0] if decision else None,
        "name_in_fields": any(f.names_responder for f in found["fields"]),
        "responder": responder or "",
        "responder_field": responder_name,
        "max_responder": MAX_RESPONDER,
        "action": None,
        "answering_as": None,
    }


def heading_of(
    wait: records.WaitRecord, run: records.RunRecord, spec: Mapping[str, Any] | None
) -> str:
    """The question's heading (`tarry.forms.headings`), never its journal label.

    Args:
        wait: The wait.
        run: Its run.
        spec: Its parsed input spec, if it has one.
    """
    return headings.heading(spec, name=wait.name, label=wait.label, flow_name=run.flow_name)


def asked_by(wait: records.WaitRecord) -> decisions.Asked:
    """Which wait asks: what its form's decision buttons and labels depend on."""
    return decisions.Asked(wait.name, wait.label)


def fields_context(
    spec: Mapping[str, Any] | None,
    submitted: FormData | None = None,
    field_errors: list[errors.FieldError] | None = None,
    *,
    asked: decisions.Asked | None = None,
) -> dict[str, Any]:
    """The fields of a generated form (`_form_fields.html`), as submitted, with their errors.

    Args:
        spec: `{"schema": ..., "initial": ...}`: a wait's input spec, or a flow's parameters.
        submitted: The form as it was sent, to show again (the initial data if `None`).
        field_errors: Why the submitted values were refused.
        asked: The wait whose form it is (`tarry.forms.fields.form_fields`); `None` for
            a flow's parameters.

    Returns:
        `fields`, `errors` (messages by field name) and `general_errors` (the others).
    """
    fields = forms.form_fields(spec, asked=asked) if spec is not None else []
    if submitted is not None:
        fields = [_as_submitted(f, submitted) for f in fields]
    by_field, general = _place_errors(fields, field_errors or [])
    return {"fields": fields, "errors": by_field, "general_errors": general}


def responder_field(spec: Mapping[str, Any] | None) -> str:
    """The name of the form's "Your name" field.

    The input's own field that names who answers (`tarry.forms.decisions`), when it
    has one: then the form asks no other. Else a field of the form's own, whose name
    no input field takes.

    Args:
        spec: The wait's input spec (`InputSpec.to_json()`), if it has one.
    """
    own = decisions.responder_field(spec)
    if own is not None:
        return own
    properties = ((spec or {}).get("schema") or {}).get("properties") or {}
    return RESPONDER_FALLBACK if RESPONDER_FIELD in properties else RESPONDER_FIELD


def _as_submitted(field: forms.FormField, submitted: FormData) -> forms.FormField:
    values = [v for v in submitted.getlist(field.name) if isinstance(v, str)]
    if field.widget == "checkbox":
        ticked = bool(values) and values[-1].strip().lower() not in {"", "0", "false", "off", "no"}
        return dataclasses.replace(field, initial="true" if ticked else "false")
    return dataclasses.replace(field, initial=values[-1] if values else "")


def _place_errors(
    fields: list[forms.FormField], found: list[errors.FieldError]
) -> tuple[dict[str, list[str]], list[str]]:
    """Each error next to its field (by `loc[0]`); the others for the top of the form."""
    names = {f.name for f in fields}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in found:
        head = str(error.loc[0]) if error.loc else None
        if head in names and head is not None:
            rest = ".".join(str(part) for part in error.loc[1:])
            message = f"{rest}: {error.message}" if rest else error.message
            by_field.setdefault(head, []).append(message)
        else:
            general.append(f"{error.field}: {error.message}" if error.field else error.message)
    return by_field, general
