"""What a question is called where people see it: its heading, and its one field's label (pure).

A wait's journal label (`pause`, `approve:publish`, `any:approval|deadline`) is how
the engine finds it again; it is not for the person asked. The heading, shown on the
answer page, the signed-link pages, the inbox and the mail's subject, is the first of:

1. the wait's `title=` (stored in its input spec as `title`);
2. the description's first line, when it is a markdown heading (`## Training budget`);
   it is then left out of the description shown below it;
3. the whole description, when it is one line of at most 100 characters
   (`"What is your name?"`); it is then not repeated below;
4. `Approve: <name>` for an `approve(value, name)`;
5. the name the flow gave the wait (a pause's `key=`, an input's name), made readable:
   `authorization` is "Authorization", `training_budget` "Training budget";
6. for a pause or suspend without a key, the flow's name: "train-model is waiting for you".

A plain-type input (`pause_flow_run(str)`) has one field, `value`; it is labelled
"Your answer".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ANSWER_LABEL", "DEFAULT_NAMES", "answer_label", "heading", "prose"]

DEFAULT_NAMES = frozenset({"pause", "suspend"})
"""The names tarry gives a pause or suspend without `key=`: internal, never a heading."""
ANSWER_LABEL = "Your answer"
"""The label of a plain-type input's one field (its name, `value`, says nothing to people)."""

_SHORT = 100
_HEADING_LINE = re.compile(r"\s{0,3}#{1,6}\s+(?P<text>.*?)(?:\s+#+)?\s*")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")


def heading(spec_json: Mapping[str, Any] | None, *, name: str, label: str, flow_name: str) -> str:
    """The heading of a question (see the module docstring for the rules).

    Args:
        spec_json: The wait's stored input spec (`InputSpec.to_json()`), or `None`.
        name: The wait's name (`WaitRecord.name`).
        label: The wait's journal label (`WaitRecord.label`).
        flow_name: The name of the flow whose run waits.

    Returns:
        A short line of plain text.
    """
    spec = spec_json or {}
    title = spec.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    found = _from_description(spec.get("description"))
    if found is not None:
        return found[0]
    if label.startswith("approve:"):
        return f"Approve: {name}"
    if name and name not in DEFAULT_NAMES:
        return _readable(name)
    return f"{flow_name} is waiting for you"


def prose(spec_json: Mapping[str, Any] | None) -> str | None:
    """The description to show below the heading: without what the heading already says.

    Args:
        spec_json: The wait's stored input spec, or `None`.

    Returns:
        The markdown, or `None` when there is nothing left to show.
    """
    spec = spec_json or {}
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        return None
    title = spec.get("title")
    if isinstance(title, str) and title.strip():
        return description
    found = _from_description(description)
    if found is None:
        return description
    return found[1]


def answer_label(spec_json: Mapping[str, Any] | None, field_name: str, label: str) -> str:
    """The label of a form field: "Your answer" for a plain-type input's `value`.

    Args:
        spec_json: The wait's stored input spec.
        field_name: The field's name in the schema.
        label: The label the schema gives it (its title, or its name made readable).

    Returns:
        The label to show.
    """
    plain = bool((spec_json or {}).get("unwrap")) and field_name == "value"
    return ANSWER_LABEL if plain and label == "Value" else label


def _from_description(description: Any) -> tuple[str, str | None] | None:
    """The heading a description gives, and what is left of it; `None` when it gives none."""
    if not isinstance(description, str):
        return None
    text = description.strip()
    if not text:
        return None
    first, _, rest = text.partition("\n")
    matched = _HEADING_LINE.fullmatch(first)
    if matched and matched["text"].strip():
        return _plain(matched["text"]), rest.strip() or None
    if not rest and len(first) <= _SHORT and not first.lstrip().startswith(("-", "*", ">", "|")):
        return _plain(first), None
    return None


def _plain(markdown: str) -> str:
    return _EMPHASIS.sub(r"\2", markdown.strip())


def _readable(name: str) -> str:
    spaced = " ".join(name.replace("_", " ").replace("-", " ").split())
    return spaced[:1].upper() + spaced[1:] if spaced else name
