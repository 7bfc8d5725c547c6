"""The event as triggers read it: a small view any event record fits, and a plain copy.

Triggers sit below storage, so they cannot name `storage.events.EventRecord`; they read
any object with its fields (`EventLike`), and keep the events they must remember (a
proactive trigger's arming event, a composite's children's) as `Event`s, which turn
to and from JSON-ready dicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["Event", "EventLike", "copy_event", "event_from_dict", "event_to_dict"]


class EventLike(Protocol):
    """What triggers read of an event (storage's `EventRecord` fits)."""

    @property
    def id(self) -> str:
        """The event's id."""

    @property
    def occurred(self) -> float:
        """When it happened, in epoch seconds."""

    @property
    def event(self) -> str:
        """Its name (`tarry.flow-run.Completed`)."""

    @property
    def resource(self) -> Mapping[str, str]:
        """The labels of the resource it is about."""

    @property
    def related(self) -> Sequence[Mapping[str, str]]:
        """The labels of the resources involved, each with `tarry.resource.role`."""

    @property
    def payload(self) -> str:
        """What happened, as JSON text."""


@dataclasses.dataclass(frozen=True)
class Event:
    """A plain event (the fields of `EventLike`, and the store's `seq` when known)."""

    id: str
    """The event's id."""
    occurred: float
    """When it happened, in epoch seconds."""
    event: str
    """Its name."""
    resource: Mapping[str, str]
    """The labels of the resource it is about."""
    related: Sequence[Mapping[str, str]] = ()
    """The labels of the resources involved."""
    payload: str = "{}"
    """What happened, as JSON text."""
    seq: int = 0
    """Its place in the store (0: not stored)."""


def copy_event(event: EventLike) -> Event:
    """`event` as a plain `Event` (itself when it is one)."""
    if isinstance(event, Event):
        return event
    return Event(
        id=event.id,
        occurred=event.occurred,
        event=event.event,
        resource=dict(event.resource),
        related=tuple(dict(each) for each in event.related),
        payload=event.payload,
        seq=int(getattr(event, "seq", 0)),
    )


def event_to_dict(event: EventLike) -> dict[str, Any]:
    """`event` as a JSON-ready dict."""
    return {
        "id": event.id,
        "occurred": event.occurred,
        "event": event.event,
        "resource": dict(event.resource),
        "related": [dict(each) for each in event.related],
        "payload": event.payload,
        "seq": int(getattr(event, "seq", 0)),
    }


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """The `Event` `event_to_dict` gave."""
    return Event(
        id=str(data["id"]),
        occurred=float(data["occurred"]),
        event=str(data["event"]),
        resource=dict(data["resource"]),
        related=tuple(dict(each) for each in data.get("related", ())),
        payload=str(data.get("payload", "{}")),
        seq=int(data.get("seq", 0)),
    )
