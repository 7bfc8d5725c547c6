"""The JSON bodies of the event routes (see `tarry.web.event_api`).

`EventIn` is what `POST /api/events` takes: `tarry.events.Event`'s fields as a
producer gives them, documented with what the server refuses (a NUL character, a
resource without `tarry.resource.id`, a related resource without a role).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

import pydantic

from tarry.events import Event, RelatedResource, Resource
from tarry.web import schemas

__all__ = ["EventIn", "EventPage", "EventsStored"]

_LABEL = {"type": "string", "pattern": schemas.NO_NUL, "maxLength": 1024}


def _labels(*required: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "String labels; `prefect.` names are taken as `tarry.`.",
        "required": list(required),
        "properties": {name: {**_LABEL, "minLength": 1} for name in required},
        "propertyNames": _LABEL,
        "additionalProperties": _LABEL,
        "maxProperties": 500,
    }


class EventIn(pydantic.BaseModel):
    """An event to store (Prefect's shape)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    event: str = pydantic.Field(
        min_length=1, max_length=1024, description="Its name.", json_schema_extra=schemas.TEXT
    )
    resource: Annotated[Resource, pydantic.WithJsonSchema(_labels("tarry.resource.id"))]
    related: list[
        Annotated[
            RelatedResource,
            pydantic.WithJsonSchema(_labels("tarry.resource.id", "tarry.resource.role")),
        ]
    ] = pydantic.Field(default_factory=list)
    payload: dict[str, Any] = pydantic.Field(
        default_factory=dict,
        json_schema_extra={
            "propertyNames": schemas.TEXT,
            "additionalProperties": {"$ref": f"#/components/schemas/{schemas.STORABLE}"},
        },
    )
    occurred: datetime.datetime | None = pydantic.Field(None, description="When (now if omitted).")
    id: uuid.UUID | None = pydantic.Field(None, description="Its id (a new one if omitted).")
    follows: uuid.UUID | None = None

    def to_event(self) -> Event:
        """The `Event` this makes."""
        fields = self.model_dump(exclude_none=True, exclude={"resource", "related"})
        fields["resource"] = self.resource
        fields["related"] = self.related
        return Event.model_validate(fields)


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
