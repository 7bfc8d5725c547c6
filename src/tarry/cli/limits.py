"""`tarry global-concurrency-limit ...` (`tarry gcl`) and `tarry concurrency-limit ...`.

A global concurrency limit has `limit` slots that code takes with
`concurrency("name")` (held until the block ends) and `rate_limit("name")`
(freed at the limit's slot decay per second). A task tag's limit is the global
limit `tag:TAG`: `tarry concurrency-limit` makes and shows those by tag, and
`tarry gcl` lists them too. See docs/concurrency.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from tarry import errors, limit_service
from tarry.cli.output import AS_JSON, Yes, confirm_delete, fail, out, print_json
from tarry.web import schemas

__all__ = ["gcl_app", "tag_app"]

gcl_app = typer.Typer(
    help="Make, list, change, reset and delete global concurrency limits and rate limits "
    "(alias: gcl).",
    no_args_is_help=True,
)
tag_app = typer.Typer(
    help="Limit how many task runs with a tag run at once (the global limit `tag:TAG`).",
    no_args_is_help=True,
)

T = TypeVar("T")

# `create db -1` reaches the command, which refuses it in one line, instead of
# failing as an unknown option `-1`.
_NUMBER_ARGS = {"ignore_unknown_options": True}

LimitName = Annotated[str, typer.Argument(help="The limit's name, as code names it")]
Tag = Annotated[str, typer.Argument(help="The task tag")]
Decay = Annotated[
    float | None,
    typer.Option(
        "--slot-decay-per-second",
        help="How fast slots taken by rate_limit free themselves (0: they do not)",
    ),
]


def _call(action: Callable[[], T]) -> T:
    """What `action` returns; a tarry error ends the command with its one line."""
    try:
        return action()
    except errors.TarryError as exc:
        raise fail(str(exc)) from None


def _tag_call(tag: str, action: Callable[[], T]) -> T:
    """As `_call`, with a missing limit said in the tag's words."""
    try:
        return action()
    except errors.ConcurrencyLimitNotFound:
        raise fail(
            f"no concurrency limit for tag {tag!r}; make one with "
            f"`tarry concurrency-limit create {tag} N` or list them with "
            "`tarry concurrency-limit ls`"
        ) from None
    except errors.TarryError as exc:
        raise fail(str(exc)) from None


def _said(text: str) -> None:
    out.print(text, highlight=False, markup=False)


def _active_text(active: bool) -> str:
    return "active" if active else "inactive"


def _decay_text(decay: float) -> str:
    return f"{decay:g}"


def _slots(count: int) -> str:
    return f"{count} active slot{'' if count == 1 else 's'}"


def _when(ts: float | None) -> str:
    if ts is None:
        return "held while suspended"
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _summary(status: limit_service.LimitStatus) -> str:
    limit = status.limit
    return (
        f"limit {limit.limit}, {_slots(status.active_slots)}, slot decay per second "
        f"{_decay_text(limit.slot_decay_per_second)}, {_active_text(limit.active)}"
    )


def _holders_table(status: limit_service.LimitStatus) -> None:
    if not status.holders:
        _said("no holders")
        return
    table = Table("holder", "run", "slots", "since", "lease expires")
    for held in status.holders:
        table.add_row(
            Text(held.holder),
            held.run_id or "-",
            str(held.slots),
            _when(held.acquired_at),
            _when(held.expires_at),
        )
    out.print(table)


# -- global concurrency limits ----------------------------------------------------------------


@gcl_app.command("create", context_settings=_NUMBER_ARGS)
def gcl_create(
    name: LimitName,
    limit: Annotated[int, typer.Option("--limit", "-l", help="The most slots in use at once")],
    slot_decay_per_second: Decay = None,
    disable: Annotated[
        bool, typer.Option("--disable", help="Make it inactive (not enforced)")
    ] = False,
) -> None:
    """Make a global concurrency limit."""
    made = _call(
        lambda: limit_service.create_limit(
            name, limit, slot_decay_per_second=slot_decay_per_second or 0.0, active=not disable
        )
    )
    _said(f"created global concurrency limit {made.limit.name} ({_summary(made)})")


@gcl_app.command("ls")
def gcl_ls(as_json: Annotated[bool, AS_JSON] = False) -> None:
    """List global concurrency limits by name (tag limits too, as `tag:TAG`)."""
    found = limit_service.list_limits()
    if as_json:
        print_json([schemas.ConcurrencyLimitOut.of(status) for status in found])
        return
    table = Table("name", "limit", "active slots", "slot decay per second", "active")
    for status in found:
        limit = status.limit
        table.add_row(
            Text(limit.name),
            str(limit.limit),
            str(status.active_slots),
            _decay_text(limit.slot_decay_per_second),
            "yes" if limit.active else "no",
        )
    out.print(table)


@gcl_app.command("inspect")
def gcl_inspect(name: LimitName, as_json: Annotated[bool, AS_JSON] = False) -> None:
    """Show a limit: its settings, its slots in use, and who holds them since when."""
    status = _call(lambda: limit_service.get_limit(name))
    if as_json:
        print_json(schemas.ConcurrencyLimitOut.of(status))
        return
    _said(
        f"global concurrency limit {status.limit.name}: {_summary(status)}, "
        f"{status.limit.denied_slots} slots denied"
    )
    _holders_table(status)


@gcl_app.command("update", context_settings=_NUMBER_ARGS)
def gcl_update(
    name: LimitName,
    limit: Annotated[
        int | None, typer.Option("--limit", "-l", help="The most slots in use at once")
    ] = None,
    slot_decay_per_second: Decay = None,
    active: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Enforce it, or not")
    ] = None,
) -> None:
    """Change a limit's size, slot decay or whether it is enforced; slots held stay held."""
    if limit is None and slot_decay_per_second is None and active is None:
        raise fail(
            "nothing to change: give --limit, --slot-decay-per-second, --enable or --disable"
        )
    changed = _call(
        lambda: limit_service.update_limit(
            name, limit=limit, slot_decay_per_second=slot_decay_per_second, active=active
        )
    )
    _said(f"updated global concurrency limit {changed.limit.name} ({_summary(changed)})")


@gcl_app.command("enable")
def gcl_enable(name: LimitName) -> None:
    """Enforce a limit again."""
    _call(lambda: limit_service.update_limit(name, active=True))
    _said(f"enabled global concurrency limit {name}")


@gcl_app.command("disable")
def gcl_disable(name: LimitName) -> None:
    """Stop enforcing a limit: code naming it passes without taking slots."""
    _call(lambda: limit_service.update_limit(name, active=False))
    _said(f"disabled global concurrency limit {name}")


@gcl_app.command("reset")
def gcl_reset(name: LimitName) -> None:
    """Free every slot of a limit now; holders still running go on, no longer counted."""
    status = _call(lambda: limit_service.reset_limit(name))
    _said(f"reset global concurrency limit {name}: {_slots(status.active_slots)}")


@gcl_app.command("delete")
def gcl_delete(name: LimitName, yes: Yes = False) -> None:
    """Delete a limit and its holders' slots (asks first in a terminal)."""
    _call(lambda: limit_service.get_limit(name))
    confirm_delete(f"Delete the global concurrency limit {name}?", yes)
    _call(lambda: limit_service.delete_limit(name))
    _said(f"deleted global concurrency limit {name}")


# -- tag limits -------------------------------------------------------------------------------


@tag_app.command("create", context_settings=_NUMBER_ARGS)
def tag_create(
    tag: Tag,
    concurrency_limit: Annotated[
        int, typer.Argument(help="The most task runs with the tag that run at once")
    ],
) -> None:
    """Limit how many task runs with the tag run at once; the others wait for a slot."""
    made = _call(lambda: limit_service.create_tag_limit(tag, concurrency_limit))
    _said(f"created concurrency limit of tag {tag}: {made.limit.limit} task runs at once")


@tag_app.command("ls")
def tag_ls(as_json: Annotated[bool, AS_JSON] = False) -> None:
    """List the tag limits by tag, with their slots in use."""
    found = limit_service.list_tag_limits()
    if as_json:
        print_json([schemas.ConcurrencyLimitOut.of(status) for status in found])
        return
    table = Table("tag", "limit", "active slots", "active")
    for status in found:
        table.add_row(
            Text(status.tag or ""),
            str(status.limit.limit),
            str(status.active_slots),
            "yes" if status.limit.active else "no",
        )
    out.print(table)


@tag_app.command("inspect")
def tag_inspect(tag: Tag, as_json: Annotated[bool, AS_JSON] = False) -> None:
    """Show a tag's limit and which task runs hold its slots."""
    status = _tag_call(tag, lambda: limit_service.get_tag_limit(tag))
    if as_json:
        print_json(schemas.ConcurrencyLimitOut.of(status))
        return
    _said(
        f"concurrency limit of tag {tag}: limit {status.limit.limit}, "
        f"{_slots(status.active_slots)}, {_active_text(status.limit.active)}"
    )
    _holders_table(status)


@tag_app.command("reset")
def tag_reset(tag: Tag) -> None:
    """Free every slot of a tag's limit now; task runs still running go on, uncounted."""
    status = _tag_call(tag, lambda: limit_service.reset_tag_limit(tag))
    _said(f"reset concurrency limit of tag {tag}: {_slots(status.active_slots)}")


@tag_app.command("delete")
def tag_delete(tag: Tag, yes: Yes = False) -> None:
    """Delete a tag's limit: its task runs no longer wait for a slot (asks first in a terminal)."""
    _tag_call(tag, lambda: limit_service.get_tag_limit(tag))
    confirm_delete(f"Delete the concurrency limit of tag {tag}?", yes)
    _tag_call(tag, lambda: limit_service.delete_tag_limit(tag))
    _said(f"deleted concurrency limit of tag {tag}")
