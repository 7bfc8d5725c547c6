"""`tarry events ls` and `tarry events stream`: the events of the store, listed or followed.

Both read the store of `TARRY_DATABASE_URL` directly (no server needed). A stream
starts at the newest event (or after `--after SEQ`) and prints each event that
matches as it is stored: at once when this process or, on PostgreSQL, any process
stores it; within 100 ms on SQLite. See docs/events.md.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Annotated, Literal

import typer
from fastapi.exceptions import RequestValidationError
from rich.table import Table

from tarry import host
from tarry.cli.output import AS_JSON, err, fail, out, print_json
from tarry.events import Event, _models
from tarry.storage import events
from tarry.web import event_query

__all__ = ["events_app"]

events_app = typer.Typer(help="List and follow events (run states, inputs, yours).")

EventOpt = Annotated[
    list[str] | None,
    typer.Option("--event", "-e", help="Event name, or a prefix ending in *; repeatable"),
]
ResourceOpt = Annotated[
    str | None, typer.Option("--resource", "-r", help="Resource id, or a prefix ending in *")
]
RelatedOpt = Annotated[str | None, typer.Option("--related", help="Id of a related resource")]
_POLL_SECONDS = 0.1
_BATCH = 200


def _query(
    names: list[str] | None, resource: str | None, related: str | None
) -> event_query.EventQuery:
    try:
        return event_query.to_filter(names, resource, related, None, None)
    except RequestValidationError as exc:
        [problem] = exc.errors()[:1]
        raise fail(f"--{problem['loc'][-1]}: {problem['msg']}") from None


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _line(record: events.EventRecord) -> str:
    name = record.resource.get(events.RESOURCE_NAME)
    shown = f"{record.resource_id} ({name})" if name else record.resource_id
    return f"{_when(record.occurred)}  {record.event}  {shown}"


@events_app.command("ls")
def events_ls(
    event: EventOpt = None,
    resource: ResourceOpt = None,
    related: RelatedOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List events, newest first."""
    where = _query(event, resource, related).where(limit=limit)
    found = host.get_host().store.list_events(where)
    if as_json:
        print_json([_models.from_record(r) for r in found])
        return
    table = Table("seq", "occurred (UTC)", "event", "resource")
    for record in found:
        name = record.resource.get(events.RESOURCE_NAME)
        shown = f"{record.resource_id} ({name})" if name else record.resource_id
        table.add_row(str(record.seq), _when(record.occurred), record.event, shown)
    out.print(table)


@events_app.command("stream")
def events_stream(
    *,
    event: EventOpt = None,
    resource: ResourceOpt = None,
    related: RelatedOpt = None,
    output: Annotated[
        Literal["text", "json"],
        typer.Option("--format", help="text: one line each; json: one JSON object per line"),
    ] = "text",
    after: Annotated[
        int | None, typer.Option(min=0, help="Start after the event of this seq")
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many events")] = None,
) -> None:
    """Print events as they are stored, until Ctrl-C (or --count events)."""
    where = _query(event, resource, related).where()
    hst = host.get_host()
    start = hst.store.last_event_seq() if after is None else after
    err.print(f"following events after seq {start} (Ctrl-C to stop)", highlight=False)
    shown = 0
    try:
        for record in _follow(hst, start):
            if not events.matches(record, where):
                continue
            if output == "json":
                body: Event = _models.from_record(record)
                print(json.dumps(body.model_dump(mode="json")), flush=True)
            else:
                print(_line(record), flush=True)
            shown += 1
            if count is not None and shown >= count:
                return
    except KeyboardInterrupt:
        return


def _follow(hst: host.Host, cursor: int) -> Iterator[events.EventRecord]:
    bell = threading.Event()
    stop = hst.store.subscribe_events(bell.set)
    try:
        while True:
            found = hst.store.events_after(cursor, _BATCH)
            for record in found:
                cursor = record.seq
                yield record
            if len(found) < _BATCH:
                bell.wait(_POLL_SECONDS)
                bell.clear()
    finally:
        stop()
