"""Which events a request asks for: the query parameters of the API, the stream and the page.

`event` (repeatable: a name, or a prefix ending in `*`), `resource` (an id or a prefix
ending in `*`), `related` (an id), `since` and `until` (ISO 8601 or seconds since the
epoch). A value that cannot be a filter is a 422 naming the parameter, never a 500.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Annotated

import pydantic
from fastapi import Query
from fastapi.exceptions import RequestValidationError

from tarry.storage import events

__all__ = ["EventQuery", "event_query", "to_filter"]

_MAX_TEXT = 1024

_PATTERN = {"pattern": r"^[^\x00*]*\*?$"}
"""No NUL, and `*` only at the end (a prefix)."""
_ID = {"pattern": r"^[^\x00]*$"}
NameParam = Annotated[
    list[str] | None,
    Query(
        description="Event name, or a prefix ending in `*`; repeat for any of several.",
        max_length=_MAX_TEXT,
        json_schema_extra={"items": {"type": "string", "maxLength": _MAX_TEXT, **_PATTERN}},
    ),
]
ResourceParam = Annotated[
    str | None,
    Query(
        description="The resource's id, or a prefix ending in `*`.",
        max_length=_MAX_TEXT,
        json_schema_extra=_PATTERN,
    ),
]
RelatedParam = Annotated[
    str | None,
    Query(description="The id of a related resource.", max_length=_MAX_TEXT, json_schema_extra=_ID),
]
Seconds = Annotated[float, pydantic.Field(allow_inf_nan=False)]
SinceParam = Annotated[
    datetime.datetime | Seconds | None,
    Query(description="Only events that occurred at or after this (ISO 8601, or epoch seconds)."),
]
UntilParam = Annotated[
    datetime.datetime | Seconds | None,
    Query(description="Only events that occurred at or before this (ISO 8601, or epoch seconds)."),
]


class EventQuery:
    """The filter of one request, before paging."""

    def __init__(
        self,
        names: tuple[str, ...],
        resource: str | None,
        related: str | None,
        since: float | None,
        until: float | None,
    ) -> None:
        self.names = names
        self.resource = resource
        self.related = related
        self.since = since
        self.until = until

    def where(self, **paging: int | None) -> events.EventFilter:
        """The store's filter, with `before_seq`, `after_seq` or `limit` given."""
        return events.EventFilter(
            names=self.names,
            resource_id=self.resource,
            related_id=self.related,
            since=self.since,
            until=self.until,
            **paging,  # type: ignore[arg-type]
        )


def _refuse(param: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", param), "msg": message, "type": "value_error"}]
    )


def _pattern(param: str, value: str, *, prefix: bool = True) -> str:
    text = value.strip()
    if not text or len(text) > _MAX_TEXT or "\x00" in text:
        raise _refuse(param, f"must be 1 to {_MAX_TEXT} characters")
    if prefix and "*" in text[:-1]:
        raise _refuse(param, "'*' is only at the end, for a prefix")
    return text


def _seconds(value: datetime.datetime | float | None) -> float | None:
    if value is None or isinstance(value, float | int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def to_filter(
    names: Sequence[str] | None,
    resource: str | None,
    related: str | None,
    since: datetime.datetime | float | None,
    until: datetime.datetime | float | None,
) -> EventQuery:
    """The checked filter of these parameters.

    Raises:
        RequestValidationError: A value cannot be a filter (a 422 naming it).
    """
    # An empty (or blank) value is no filter, as a form's empty field.
    checked = tuple(_pattern("event", n) for n in names or () if n.strip())
    return EventQuery(
        checked,
        _pattern("resource", resource) if resource and resource.strip() else None,
        _pattern("related", related, prefix=False) if related and related.strip() else None,
        _seconds(since),
        _seconds(until),
    )


def event_query(
    event: NameParam = None,
    resource: ResourceParam = None,
    related: RelatedParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> EventQuery:
    """The FastAPI dependency of `to_filter`."""
    return to_filter(event, resource, related, since, until)
