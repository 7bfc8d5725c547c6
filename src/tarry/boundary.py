"""The input boundary: what a value from outside must be before tarry stores it.

Every interface (the REST API, the UI's forms and buttons, signed links, mail
replies, the CLI, and through the API the client) reaches the store through
`tarry.service`, and `service` passes each outside value through `check` first.
A value that fails is refused with `errors.ValueRefused` naming the field, and
nothing changes: a run that waits keeps waiting. The rules are the same on every
store:

* **No NUL character** (U+0000) in any text: PostgreSQL text cannot hold one
  and SQLite could, so both refuse it here. A run, wait or deployment id with a
  NUL names nothing (`may_exist` is false), so looking one up is "not found".
* **Finite numbers only**: JSON has no `NaN` or `Infinity` (nor `1e999`, which
  parses as infinity); storing one would hand the flow a `null` nobody sent.
* **Bounded nesting, fields and values**: at most `max_json_depth` levels of
  lists and objects, `max_field_chars` characters in one string, and
  `max_value_chars` characters of JSON in one answer, message or set of
  parameters (settings of `tarry.config`).

The walk is iterative, so a deeply nested value cannot exhaust the stack.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from tarry import config, errors

__all__ = [
    "check",
    "may_exist",
    "refuse_bool",
]

NUL = "\x00"


def may_exist(identifier: str) -> bool:
    """Whether a run, wait or deployment could have this id (no NUL character).

    Args:
        identifier: The id or name as given.
    """
    return NUL not in identifier


def check(
    settings: config.Settings,
    what: str = "",
    value: Any = None,
    **texts: str | None,
) -> None:
    """Refuse a value (and named texts) that tarry cannot store unchanged.

    Args:
        settings: Where the limits come from.
        what: What `value` is, for the message ("the answer", "the message", ...);
            empty when there is no value to check.
        value: A JSON value (dicts, lists, strings, numbers, booleans, `None`);
            anything else inside it is left to the serializer.
        **texts: Single texts by field name (`responder=...`); `None` is skipped.

    Raises:
        errors.ValueRefused: Something breaks a rule; `field_errors` says where.
    """
    found = [
        e for name, text in texts.items() if text is not None for e in _text(settings, name, text)
    ]
    if what and not found:
        found = _value_errors(settings, value)
    if found:
        raise errors.ValueRefused(what or "the request", found)


def _text(settings: config.Settings, name: str, text: str) -> Iterator[errors.FieldError]:
    problem = _text_problem(settings, text)
    if problem:
        yield errors.FieldError((name,), problem[1], problem[0])


def _text_problem(settings: config.Settings, text: str) -> tuple[str, str] | None:
    if NUL in text:
        return "nul_character", "text cannot hold a NUL character (\\u0000)"
    if len(text) > settings.max_field_chars:
        return "text_too_long", f"at most {settings.max_field_chars} characters, not {len(text)}"
    return None


def _value_errors(settings: config.Settings, value: Any) -> list[errors.FieldError]:
    size = 0
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        loc, item = stack.pop()
        problem, weight = _node(settings, loc, item, stack)
        if problem is not None:
            return [problem]
        size += weight
        if size > settings.max_value_chars:
            message = f"at most {settings.max_value_chars} characters of JSON"
            return [errors.FieldError((), message, "value_too_large")]
    return []


def _node(
    settings: config.Settings,
    loc: tuple[str | int, ...],
    item: Any,
    stack: list[tuple[tuple[str | int, ...], Any]],
) -> tuple[errors.FieldError | None, int]:
    """Check one node; push its children. Returns a problem, and its JSON size (about)."""
    if isinstance(item, str):
        problem = _text_problem(settings, item)
        return (errors.FieldError(loc, problem[1], problem[0]) if problem else None), len(item) + 2
    if isinstance(item, float) and not math.isfinite(item):
        return errors.FieldError(loc, f"{item} is not a JSON number", "not_finite"), 0
    if isinstance(item, dict | list):
        if len(loc) >= settings.max_json_depth:
            message = f"nested deeper than {settings.max_json_depth} levels"
            return errors.FieldError(loc, message, "too_deep"), 0
        keys = sum(len(str(k)) + 3 for k in item) if isinstance(item, dict) else 0
        return _children(settings, loc, item, stack), 2 + len(item) + keys
    return None, 8


def _children(
    settings: config.Settings,
    loc: tuple[str | int, ...],
    item: dict[Any, Any] | list[Any],
    stack: list[tuple[tuple[str | int, ...], Any]],
) -> errors.FieldError | None:
    if isinstance(item, list):
        stack.extend(((*loc, i), child) for i, child in enumerate(item))
        return None
    for key, child in item.items():
        name = str(key)
        problem = _text_problem(settings, name)
        if problem:
            return errors.FieldError((*loc, name), "name: " + problem[1], problem[0])
        stack.append(((*loc, name), child))
    return None


def refuse_bool(value: Any) -> Any:
    """A number field's value as given, unless it is `true` or `false`.

    For a validator before a number field of a body: Python's `True` is the number 1,
    but a person who sent JSON's `true` meant something else, and the schema says number.

    Raises:
        ValueError: The value is a bool.
    """
    if isinstance(value, bool):
        raise ValueError("give a number, not true or false")
    return value
