"""The `tarry ...` commands of shell blocks: found, parsed by the real CLI, some run.

A line of a `sh`/`bash` block (or a `$ ` line of a `console` block) may hold several
commands (`&&`, `;`, `|`, `&`), environment assignments before a command
(`TARRY_HOME=/srv/tarry tarry db upgrade`) and `export NAME=value` lines, which
apply to the rest of the block. `tarry ARGS` and `python -m tarry ARGS` are checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import shlex

import typer
from typer import core as typer_core
from typer._click import core as click_core
from typer._click import exceptions as click_exceptions

from tarry import cli

__all__ = ["Command", "commands_of", "inline_command", "is_safe", "parse_error"]

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")"}
_PYTHONS = {"python", "python3", ".venv/bin/python", "python3.11"}

SAFE = {("runs", "ls"), ("inputs", "ls"), ("db", "upgrade")}
"""Commands short and harmless enough to run for real against a temporary home."""


@dataclasses.dataclass(frozen=True)
class Command:
    """One `tarry` command of a shell block."""

    args: tuple[str, ...]
    """What follows `tarry`."""
    env: dict[str, str]
    """`NAME=value` assignments and exports in force for it."""
    line: int
    """Its line in the page (1-based)."""


def _logical_lines(code: str, console: bool) -> list[tuple[int, str]]:
    """`(line, text)` of each command line, continuation lines joined."""
    found: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(code.split("\n"), start=1):
        text = raw.rstrip()
        if pending is None:
            if console and not text.startswith("$ "):
                continue
            pending = (number, text.removeprefix("$ ") if console else text)
        else:
            pending = (pending[0], pending[1] + " " + text.strip())
        if pending[1].endswith("\\"):
            pending = (pending[0], pending[1][:-1])
            continue
        found.append(pending)
        pending = None
    return found


def _segments(text: str) -> list[list[str]]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token in _SEPARATORS:
            segments.append([])
        else:
            segments[-1].append(token)
    return [s for s in segments if s]


def _tarry_args(words: list[str]) -> list[str] | None:
    if words and words[0] in ("tarry", ".venv/bin/tarry"):
        return words[1:]
    if len(words) >= 3 and words[0] in _PYTHONS and words[1:3] == ["-m", "tarry"]:
        return words[3:]
    return None


def commands_of(code: str, lang: str) -> list[Command]:
    """The `tarry` commands of a shell block's (padded) code."""
    exported: dict[str, str] = {}
    found = []
    for line, text in _logical_lines(code, console=lang == "console"):
        for words in _segments(text):
            if words[0] == "export":
                exported.update(w.split("=", 1) for w in words[1:] if "=" in w)  # type: ignore[misc]
                continue
            env = dict(exported)
            while words and _ASSIGNMENT.match(words[0]):
                name, _, value = words.pop(0).partition("=")
                env[name] = value
            args = _tarry_args(words)
            if args is not None:
                found.append(Command(tuple(args), env, line))
    return found


_USAGE_NOTATION = re.compile(r"[\[\]|{}]|\.\.\.|…")


def inline_command(span: str) -> tuple[str, ...] | None:
    """The arguments of an inline `tarry ...` span written as a real command.

    Spans in usage notation (`[--burst]`, `ls|show`, `...`) describe a command
    rather than show one; they are not parsed.
    """
    if _USAGE_NOTATION.search(span):
        return None
    try:
        words = shlex.split(span)
    except ValueError:
        return None
    args = _tarry_args(words)
    return tuple(args) if args else None


def _root() -> typer_core.TyperGroup:
    # Typer 0.29 carries its own copy of click: its classes, not the `click` package's.
    command = typer.main.get_command(cli.app)
    assert isinstance(command, typer_core.TyperGroup)
    return command


def parse_error(args: tuple[str, ...], *, mention: bool = False) -> str | None:
    """Why the CLI would refuse `args` before running anything; `None` if they parse.

    Each (sub)command parses its options with `resilient_parsing=False`, as the
    real call would, but no command callback runs. `--help` counts as parsed.

    Args:
        args: What follows `tarry`.
        mention: The command is named in prose (`tarry resume`), not run: missing
            arguments are fine, unknown commands and options are not.
    """
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return _parse_error(args)
        except (click_exceptions.MissingParameter, click_exceptions.NoArgsIsHelpError) as exc:
            if mention:
                return None
            return exc.format_message() or "a subcommand is missing: it only prints the help"


def _parse_error(args: tuple[str, ...]) -> str | None:
    group: click_core.Command = _root()
    name, rest = "tarry", list(args)
    parent: click_core.Context | None = None
    try:
        while True:
            ctx = group.make_context(name, rest, parent=parent)
            if not isinstance(group, typer_core.TyperGroup):
                return None
            words = [*ctx._protected_args, *ctx.args]
            if not words:
                return None
            found, sub, rest = group.resolve_command(ctx, words)
            if sub is None or found is None:
                return f"no command {words[0]!r}"
            name, group, parent = found, sub, ctx
    except typer.Exit:
        return None  # --help printed the help
    except (click_exceptions.MissingParameter, click_exceptions.NoArgsIsHelpError):
        raise
    except click_exceptions.ClickException as exc:
        return exc.format_message()


def is_safe(args: tuple[str, ...]) -> bool:
    """Whether the command is one the tests run for real."""
    return "--help" in args or tuple(a for a in args if not a.startswith("-"))[:2] in SAFE
