"""What every `tarry` command shares: its consoles, its one-line errors, JSON output, parameters."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import pydantic
import typer
from rich import markup
from rich.console import Console

from tarry import errors

__all__ = ["AS_JSON", "err", "fail", "out", "parse_params", "print_json"]

out = Console()
# Lines are not cut at 80 columns when stderr is a pipe or a log file.
err = Console(stderr=True, soft_wrap=True)
if not out.is_terminal:
    # Piped or captured output goes to programs and pagers: tables keep whole ids and
    # names instead of cutting them to fit 80 columns.
    out.width = max(out.width, 160)


AS_JSON = typer.Option("--json", help="Print JSON (the REST API's shape) instead of a table")


T = TypeVar("T")


def print_json(data: pydantic.BaseModel | list[pydantic.BaseModel]) -> None:
    """Print an API body (or a list of them) as indented JSON on stdout."""
    items = data if isinstance(data, list) else [data]
    dumped = [item.model_dump(mode="json") for item in items]
    # Plain print: rich would wrap long lines and colour them, and programs read this.
    print(json.dumps(dumped if isinstance(data, list) else dumped[0], indent=2))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as the command's one error line; the caller raises what it returns."""
    # Messages quote user data (ids, patterns such as `[a-z]`) that is not rich markup.
    err.print(f"[bold red]Error:[/] {markup.escape(message)}", highlight=False, markup=True)
    return typer.Exit(code)


def parse_params(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    """Parameters from `--params JSON` and `--param name=value` (read as JSON if it parses)."""
    params: dict[str, Any] = {}
    if as_json:
        try:
            loaded = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise fail(f"--params is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise fail("--params must be a JSON object such as '{\"n\": 3}'")
        params.update(loaded)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise fail(f"--param {pair!r} must look like name=value")
        try:
            params[name] = json.loads(text)
        except json.JSONDecodeError:
            params[name] = text
    return params


Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")]


def confirm_delete(question: str, yes: bool) -> None:
    """Ask `question` in a terminal unless `--yes`; a script (no terminal) is not asked.

    Raises:
        typer.Exit: The person said no; nothing was deleted.
    """
    if yes or not sys.stdin.isatty():
        return
    if not typer.confirm(question, default=False):
        raise fail("nothing deleted")


def call(action: Callable[[], T]) -> T:
    """What `action` returns; a tarry error ends the command with its one line.

    Raises:
        typer.Exit: `action` raised a tarry error (its message is printed).
    """
    try:
        return action()
    except errors.TarryError as exc:
        raise fail(str(exc)) from None


def said(text: str) -> None:
    """Print `text` as it is (no markup, no highlighting)."""
    out.print(text, highlight=False, markup=False)
