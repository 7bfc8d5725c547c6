"""How the UI shows stored values as text: times, durations, JSON and previews.

Pure functions, registered as Jinja2 filters by `tarry.web.pages` and used by the
pages that build their own rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from tarry import serialization

__all__ = ["first_line", "iso", "pretty", "preview", "preview_json", "seconds", "source", "when"]

_PREVIEW = 120
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")


def when(ts: float | None) -> str:
    """A timestamp as UTC date and time for people (`—` when there is none).

    Args:
        ts: Seconds since the epoch.

    Returns:
        `YYYY-MM-DD HH:MM:SS`, in UTC.
    """
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(ts: float | None) -> str:
    """A timestamp in ISO 8601, for `<time datetime>` (empty when there is none).

    Args:
        ts: Seconds since the epoch.

    Returns:
        The UTC time with its offset.
    """
    return "" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def seconds(value: float | None) -> str:
    """A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`, `3 d 4 h`.

    Args:
        value: The duration in seconds.

    Returns:
        The duration, or `—` when there is none.
    """
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    whole = int(value)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def pretty(text: str | None) -> str:
    """Stored JSON, indented for reading (the text as it is when it is not JSON).

    Args:
        text: The stored text.

    Returns:
        The indented JSON, or `text` itself.
    """
    if text is None:
        return ""
    try:
        data = serialization.plain(json.loads(text))
    except ValueError:
        return text
    return json.dumps(data, indent=2, ensure_ascii=False)


def preview(value: Any) -> str:
    """A value in one short line: strings as they are, anything else as JSON.

    Args:
        value: The value to show.

    Returns:
        The text, cut short with `…` when it is long.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def preview_json(text: str | None) -> str:
    """A short line of stored JSON, as plain JSON (`preview` of `serialization.plain`)."""
    return preview(serialization.plain(json.loads(text))) if text else ""


def first_line(markdown: str | None) -> str:
    """The first line of a markdown text, as plain text (for previews).

    Args:
        markdown: The markdown text.

    Returns:
        Its first non-empty line without markup, or an empty string.
    """
    for line in (markdown or "").splitlines():
        # Emphasis first: a line may start with it (`**12,500 rows** will...`).
        plain = _EMPHASIS.sub(r"\2", line.strip()).lstrip("#>*- ").strip()
        if plain:
            return plain
    return ""


def source(entrypoint: str) -> str:
    """Where a flow's code is, shortly: the file's folder and name, or the module.

    Several examples share a flow name (`train-model`); the file tells them apart.

    Args:
        entrypoint: `path/to/file.py:function` or `package.module:function`.

    Returns:
        `folder/file.py` for a file, the module for a module.
    """
    location = entrypoint.rpartition(":")[0] or entrypoint
    if not location.endswith(".py"):
        return location
    return "/".join(location.replace("\\", "/").split("/")[-2:])
