"""The JSON bodies of the event routes besides `Event` itself (see `tarry.web.event_api`)."""

from __future__ import annotations

import pydantic

from tarry.events import Event

__all__ = ["EventPage", "EventsStored"]


class EventPage(pydantic.BaseModel):
    """A page of events, newest first."""

    events: list[Event]
    next: str | None = pydantic.Field(
        None, description="Pass as `cursor` for the next (older) page; `null` on the last."
    )


class EventsStored(pydantic.BaseModel):
    """What `POST /api/events` stored."""

    stored: int = pydantic.Field(description="How many were new (an id stored before is not).")
    ids: list[str] = pydantic.Field(description="The ids of the events posted, in order.")
