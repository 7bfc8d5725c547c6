"""Python regular expressions as HTML `pattern` attributes (pure: no I/O).

A field's `pattern` (pydantic's `Field(pattern=...)`) is checked by the server with
Python's `re`; `browser_pattern` writes it for the browser's `v`-flag regex, so the
form refuses what the server would, or says it cannot (and leaves it to the server).

A regex says nothing to the person typing, so a value that does not match is refused
with `pattern_message`: the field's `error_message` (`Field(pattern=...,
json_schema_extra={"error_message": "Seven digits, 1 to 9"})`), else its description,
else a plain sentence. The server's refusal and the browser's (`setCustomValidity`,
from the control's `data-error-message`) say the same.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ERROR_MESSAGE", "PATTERN_ERROR_TYPES", "browser_pattern", "pattern_message"]

ERROR_MESSAGE = "error_message"
"""The schema key (`json_schema_extra`) of the message a field's pattern mismatch shows."""
PATTERN_ERROR_TYPES = frozenset({"string_pattern_mismatch", "pattern"})
"""The error types of a pattern mismatch: pydantic's, and JSON Schema's validator name."""
_NO_MATCH = "This is not in the expected form."


def pattern_message(prop: Mapping[str, Any]) -> str:
    """What a person is told when a value does not match the field's pattern.

    Args:
        prop: The field's JSON Schema (a property of the input's schema).

    Returns:
        Its `error_message`, else its description, else a plain sentence; never the regex.
    """
    for key in (ERROR_MESSAGE, "description"):
        text = prop.get(key)
        if isinstance(text, str) and text.strip():
            return text.strip()
    return _NO_MATCH


_re_parser: Any = importlib.import_module("re._parser")
"""Python's own regex parser: the translation sees the pattern exactly as `re` does."""

_ANY_RUN = r"[\s\S]*"
_WORD = r"\p{L}\p{N}_"
"""Python's `\\w` for str patterns: `str.isalnum()` or "_"."""
_SPACE = (
    r"\u{9}-\u{d}\u{1c}-\u{20}\u{85}\u{a0}\u{1680}"
    r"\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}"
)
"""Python's `\\s` for str patterns (`str.isspace()`), unlike JavaScript's (which has U+FEFF
but not U+001C-U+001F or U+0085)."""
_BOUNDARY = rf"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_CATEGORIES = {
    "CATEGORY_DIGIT": (r"\p{Nd}", r"\p{Nd}"),
    "CATEGORY_NOT_DIGIT": (r"\P{Nd}", r"\P{Nd}"),
    "CATEGORY_WORD": (f"[{_WORD}]", _WORD),
    "CATEGORY_NOT_WORD": (f"[^{_WORD}]", f"[^{_WORD}]"),
    "CATEGORY_SPACE": (f"[{_SPACE}]", _SPACE),
    "CATEGORY_NOT_SPACE": (f"[^{_SPACE}]", f"[^{_SPACE}]"),
}
"""Category -> (outside a class, inside a class), for the `v` flag."""
_STARTS = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING"})
_ENDS = frozenset({"AT_END", "AT_END_STRING"})
_ATOMS = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN", "SUBPATTERN", "BRANCH"})
_SYNTAX = frozenset("^$\\.*+?()[]{}|/")
"""Characters the `v` flag wants escaped outside a class."""
_CLASS_SYNTAX = frozenset("()[]{}/-\\|&!#%,:;<=>@`~^$.*+?")
"""Characters the `v` flag wants escaped inside a class: its syntax characters and
the punctuators it reserves (doubled, they would be set operators)."""
_SET_LOOKALIKE = re.compile(r"\[\[|--|&&|~~|\|\||\(\?\(")
"""Text Python warns about as a possible future set operation (or a conditional)."""


class _Untranslatable(Exception):
    """The pattern uses syntax the browser cannot check the way Python does."""


@functools.lru_cache(maxsize=512)
def browser_pattern(python_pattern: str) -> str | None:
    r"""A `pattern` attribute that accepts what pydantic's pattern check accepts.

    pydantic and JSON Schema search for the pattern anywhere in the text
    (`re.search`); the browser wraps the attribute as `^(?:` + pattern + `)$` and
    compiles it with the `v` flag. The translation pads an unanchored side with
    `[\s\S]*` (per top-level alternative), drops anchors that the wrapper
    makes redundant, and rewrites what differs: `\d`, `\w`, `\s`, `\b` and
    `.` get Python's Unicode meaning, escapes and class contents are spelt as
    the `v` flag demands, groups become non-capturing, and `{,n}` becomes `{0,n}`.

    `$` is translated as the end of the text. Python's also matches before a
    final line feed, but an `<input>` never holds one (and pydantic's default
    Rust engine agrees). Python's Unicode tables may be older than the
    browser's: characters assigned since then may pass the browser's check.

    Args:
        python_pattern: A Python regular expression, as in `Field(pattern=...)`.

    Returns:
        The attribute value, or None when the browser cannot check the pattern
        faithfully (the server still does): patterns Python refuses, inline
        flags (`(?i)`, `(?x)`, `(?a)`, `(?i:...)`), backreferences, conditionals,
        atomic groups, possessive quantifiers, `\B`, and
        text Python would warn about as a future set operation (`[[`, `--`,
        `&&`, `~~`, `||`).
    """
    if _SET_LOOKALIKE.search(python_pattern):
        return None
    try:
        re.compile(python_pattern)
        parsed = _re_parser.parse(python_pattern)
        if parsed.state.flags & ~re.UNICODE:
            return None
        return "|".join(_branch(items) for items in _top_branches(list(parsed)))
    except (re.error, _Untranslatable, RecursionError):
        return None


def _top_branches(items: list[Any]) -> list[list[Any]]:
    if len(items) == 1 and _op(items[0]) == "BRANCH":
        return [list(branch) for branch in items[0][1][1]]
    return [items]


def _branch(items: list[Any]) -> str:
    """One top-level alternative, matched anywhere in the text."""
    starts = bool(items) and _op(items[0]) == "AT" and items[0][1].name in _STARTS
    items = items[1:] if starts else items
    ends = bool(items) and _op(items[-1]) == "AT" and items[-1][1].name in _ENDS
    items = items[:-1] if ends else items
    body = _sequence(items)
    if not (body or starts or ends):
        return _ANY_RUN  # an empty alternative: any text
    return ("" if starts else _ANY_RUN) + body + ("" if ends else _ANY_RUN)


def _op(item: Any) -> str:
    return str(item[0].name)


def _sequence(items: Any) -> str:
    return "".join(_item(_op(item), item[1]) for item in items)


def _item(op: str, arg: Any) -> str:
    translate = _TRANSLATIONS.get(op)
    if translate is None:
        raise _Untranslatable  # backreferences, conditionals, atomic groups, possessives
    return translate(arg)


def _group(arg: Any) -> str:
    _number, add_flags, del_flags, items = arg
    if add_flags or del_flags:
        raise _Untranslatable
    return f"(?:{_sequence(items)})"


def _lookaround(negative: bool) -> Callable[[Any], str]:
    def translate(arg: Any) -> str:
        direction, items = arg
        opening = {(False, 1): "(?=", (True, 1): "(?!", (False, -1): "(?<=", (True, -1): "(?<!"}
        return opening[negative, direction] + _sequence(items) + ")"

    return translate


def _repeat(arg: Any, lazy: bool) -> str:
    low, high, items = arg
    items = list(items)
    body = _sequence(items)
    # A group around anything else: the `v` flag refuses to repeat a bare assertion.
    atom = body if len(items) == 1 and _op(items[0]) in _ATOMS else f"(?:{body})"
    if high == _re_parser.MAXREPEAT:
        quantifier = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    else:
        quantifier = {(0, 1): "?", (low, low): f"{{{low}}}"}.get((low, high), f"{{{low},{high}}}")
    return atom + quantifier + ("?" if lazy else "")


def _anchor(name: str) -> str:
    if name in _STARTS:
        return "^"
    if name in _ENDS:
        return "$"
    if name == "AT_BOUNDARY":
        return _BOUNDARY
    raise _Untranslatable  # \B: Python's does not match in an empty text


def _set(items: Any) -> str:
    items = list(items)
    negate = bool(items) and _op(items[0]) == "NEGATE"
    members = items[1:] if negate else items
    if not negate and len(members) == 1 and _op(members[0]) == "CATEGORY":
        return _category(members[0][1].name)[0]
    inside = "".join(_set_member(_op(member), member[1]) for member in members)
    return f"[{'^' if negate else ''}{inside}]"


def _set_member(op: str, arg: Any) -> str:
    if op == "LITERAL":
        return _char(arg, _CLASS_SYNTAX)
    if op == "RANGE":
        return f"{_char(arg[0], _CLASS_SYNTAX)}-{_char(arg[1], _CLASS_SYNTAX)}"
    if op == "CATEGORY":
        return _category(arg.name)[1]
    raise _Untranslatable


def _category(name: str) -> tuple[str, str]:
    if name not in _CATEGORIES:
        raise _Untranslatable
    return _CATEGORIES[name]


def _char(code: int, escaped: frozenset[str]) -> str:
    char = chr(code)
    if char in escaped:
        return "\\" + char
    return char if char.isprintable() else f"\\u{{{code:x}}}"


_TRANSLATIONS: dict[str, Callable[[Any], str]] = {
    "LITERAL": lambda code: _char(code, _SYNTAX),
    "NOT_LITERAL": lambda code: f"[^{_char(code, _CLASS_SYNTAX)}]",
    "ANY": lambda _: r"[^\n]",
    "IN": _set,
    "BRANCH": lambda arg: "(?:" + "|".join(_sequence(branch) for branch in arg[1]) + ")",
    "SUBPATTERN": _group,
    "MAX_REPEAT": lambda arg: _repeat(arg, lazy=False),
    "MIN_REPEAT": lambda arg: _repeat(arg, lazy=True),
    "AT": lambda code: _anchor(code.name),
    "ASSERT": _lookaround(negative=False),
    "ASSERT_NOT": _lookaround(negative=True),
}
"""How each node of Python's parse tree is written for the `v` flag."""
