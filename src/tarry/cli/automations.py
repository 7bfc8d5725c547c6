"""`tarry automation ...`: make automations from JSON or YAML, list, inspect, enable, delete.

A file holds one automation, a list of them, or `{"automations": [...]}` (Prefect's
export); Prefect's `prefect.` names are taken as `tarry.`. Every automation of a
file is checked before any is made, so a file with one bad automation makes none.
See docs/automations.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from tarry import automation_service
from tarry.cli.output import AS_JSON, Yes, confirm_delete, fail, out, print_json
from tarry.cli.output import call as _call
from tarry.cli.output import said as _said
from tarry.triggers import parse
from tarry.web import automation_schemas as schemas

__all__ = ["app"]

app = typer.Typer(
    help="Make automations from JSON or YAML, list, inspect, enable, disable and delete them.",
    no_args_is_help=True,
)

T = TypeVar("T")

Ref = Annotated[str, typer.Argument(help="The automation's id or name")]


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {source}: {exc}") from None


def _documents(text: str) -> list[Any]:
    try:
        data = parse.load_document(text)
    except ValueError as exc:
        raise fail(" ".join(str(exc).split())) from None
    if isinstance(data, dict) and "automations" in data:
        data = data["automations"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise fail("the file holds no automation")
    return items


@app.command("create")
def create(
    from_file: Annotated[
        str,
        typer.Option("--from-file", "-f", help="A JSON or YAML file of automations; - reads stdin"),
    ],
) -> None:
    """Make the automations of a JSON or YAML file (Prefect's shape); each is checked first."""
    items = _documents(_read(from_file))
    specs = [_call(functools.partial(automation_service.validate, item)) for item in items]
    for spec in specs:
        made = _call(functools.partial(automation_service.create_automation, spec))
        _said(f"created automation {made.name} ({made.id}): {made.summary}")


@app.command("ls")
def ls(as_json: Annotated[bool, AS_JSON] = False) -> None:
    """List automations by name: their trigger in words, whether enabled, when last fired."""
    found = automation_service.list_automations()
    if as_json:
        print_json([schemas.AutomationOut.of(each) for each in found])
        return
    table = Table("name", "trigger", "enabled", "last fired", "id")
    for each in found:
        table.add_row(
            Text(each.name),
            Text(each.summary),
            "yes" if each.record.enabled else "no",
            _when(each.last_fired),
            each.id,
        )
    out.print(table)


@app.command("inspect")
def inspect(ref: Ref, as_json: Annotated[bool, AS_JSON] = False) -> None:
    """Show an automation: its settings, its trigger and actions as JSON."""
    found = _call(lambda: automation_service.get_automation(ref))
    if as_json:
        print_json(schemas.AutomationOut.of(found))
        return
    record = found.record
    _said(f"automation {found.name} ({found.id}), {'enabled' if record.enabled else 'disabled'}")
    if record.description:
        _said(record.description)
    _said(f"trigger: {found.summary}; last fired: {_when(found.last_fired)}")
    document = found.document()
    for field in ("trigger", "actions", "actions_on_trigger", "actions_on_resolve"):
        if document[field]:
            _said(f"{field}:\n{json.dumps(document[field], indent=2)}")


def _enable(ref: str, enabled: bool) -> None:
    changed = _call(lambda: automation_service.set_enabled(ref, enabled))
    _said(f"{'enabled' if enabled else 'disabled'} automation {changed.name}")


@app.command("enable")
def enable(ref: Ref) -> None:
    """Enable an automation: it is evaluated again."""
    _enable(ref, True)


@app.command("disable")
def disable(ref: Ref) -> None:
    """Disable an automation: kept, but not evaluated."""
    _enable(ref, False)


@app.command("resume", hidden=True)
def resume(ref: Ref) -> None:
    """Prefect's name of `enable`."""
    _enable(ref, True)


@app.command("pause", hidden=True)
def pause(ref: Ref) -> None:
    """Prefect's name of `disable`."""
    _enable(ref, False)


@app.command("delete")
def delete(ref: Ref, yes: Yes = False) -> None:
    """Delete an automation; its firings stay as history (asks first in a terminal)."""
    found = _call(lambda: automation_service.get_automation(ref))
    confirm_delete(f"Delete the automation {found.name}?", yes)
    _call(lambda: automation_service.delete_automation(found.id))
    _said(f"deleted automation {found.name}")


def _actions_text(firing: automation_service.Firing) -> str:
    parts = []
    for each in firing.actions:
        kind = json.loads(each.action).get("type", "?")
        tries = f"{each.attempts} attempt{'' if each.attempts == 1 else 's'}"
        detail = f": {each.detail}" if each.detail else ""
        parts.append(f"{each.index} {kind} {each.status.value} ({tries}){detail}")
    return "\n".join(parts) or "-"


@app.command("firings")
def firings(
    ref: Ref,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="The most firings")] = 20,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List an automation's latest firings, newest first, with each action's status."""
    found = _call(lambda: automation_service.firings_of(ref, limit))
    if as_json:
        print_json([schemas.FiringOut.of(each) for each in found])
        return
    if not found:
        _said("no firings yet")
        return
    table = Table("fired at", "kind", "actions", "firing")
    for each in found:
        record = each.record
        table.add_row(_when(record.fired_at), record.kind, Text(_actions_text(each)), record.id)
    out.print(table)
