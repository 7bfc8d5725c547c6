"""The pure core of the clients' event methods: the calls they send, and reading a stream.

As in `tarry.client_calls`, no I/O here: each `*_call` builds the `Call` that
`tarry.client_events` sends from `Client` and `AsyncClient`, and `StreamReader`
turns the lines of `GET /api/events/stream` (server-sent events) into events,
whichever client read them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tarry import _lazy
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry import events
    from tarry.web import event_schemas
else:
    # The event models import pydantic's machinery: the client pays on first use.
    events = _lazy.Lazy("tarry.events")
    event_schemas = _lazy.Lazy("tarry.web.event_schemas")

__all__ = [
    "StreamReader",
    "build_event",
    "emit_events_call",
    "filter_params",
    "read_events_call",
    "stream_params",
]

Params = tuple[tuple[str, str | int | bool], ...]


def build_event(  # noqa: PLR0917 - `emit_event`'s signature
    event: str,
    resource: Mapping[str, str],
    occurred: datetime.datetime | None = None,
    related: Sequence[Mapping[str, str]] | None = None,
    payload: Mapping[str, Any] | None = None,
    id: Any = None,
    follows: Any = None,
) -> events.Event:
    """The event `Client.emit_event` sends, checked here first.

    Raises:
        pydantic.ValidationError: A field does not fit.
    """
    fields: dict[str, Any] = {
        "event": event,
        "resource": dict(resource),
        "related": [dict(r) for r in related or ()],
        "payload": dict(payload or {}),
        "follows": follows,
    }
    if occurred is not None:
        fields["occurred"] = occurred
    if id is not None:
        fields["id"] = id
    return events.Event.model_validate(fields)


def emit_events_call(items: Sequence[events.Event]) -> Call[int]:
    """The call of `Client.emit_events`: how many of `items` were new."""
    body = [item.model_dump(mode="json", exclude={"received", "seq"}) for item in items]
    return Call("POST", "events", lambda found: int(found["stored"]), body=body)


def filter_params(
    event: str | Iterable[str] | None,
    resource: str | None,
    related: str | None,
    since: datetime.datetime | None,
    until: datetime.datetime | None,
) -> Params:
    """The query parameters of an event filter (as `tarry.web.event_query` reads them)."""
    names = [event] if isinstance(event, str) else list(event or ())
    params: list[tuple[str, str | int | bool]] = [("event", name) for name in names]
    for key, value in (("resource", resource), ("related", related)):
        if value is not None:
            params.append((key, value))
    for key, when in (("since", since), ("until", until)):
        if when is not None:
            params.append((key, when.isoformat()))
    return tuple(params)


def _page(body: Any) -> event_schemas.EventPage:
    return event_schemas.EventPage.model_validate(body)


def read_events_call(
    filters: Params, limit: int, cursor: str | None
) -> Call[event_schemas.EventPage]:
    """The call of `Client.read_events`: one page, newest first."""
    params = (*filters, ("limit", limit), *((("cursor", cursor),) if cursor else ()))
    return Call("GET", "events", _page, params=params)


def stream_params(filters: Params, after: int | None, heartbeat: float) -> Params:
    """The query parameters of `GET /api/events/stream`."""
    more: Params = (("heartbeat", str(heartbeat)),)
    if after is not None:
        more += (("after", after),)
    return (*filters, *more)


class StreamReader:
    """Server-sent events line by line: `feed` returns each event once its frame ends."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self.last_seq: int | None = None
        """The `id` of the last event read: where a stream started again resumes."""

    def feed(self, line: str) -> events.Event | None:
        """Take one line (without its newline); the event a blank line ends, else `None`."""
        if line.startswith("data:"):
            self._data.append(line[5:].removeprefix(" "))
        elif line.startswith("id:"):
            self.last_seq = int(line[3:].strip())
        elif not line and self._data:
            text, self._data = "\n".join(self._data), []
            return events.Event.model_validate(json.loads(text))
        return None
