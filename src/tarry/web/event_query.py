"""Which events a request asks for: the query parameters of the API, the stream and the page.

`event` (repeatable: a name, or a prefix ending in `*`), `resource` (an id or a prefix
ending in `*`), `related` (an id), `since` and `until` (ISO 8601 or seconds since the
epoch). A value that cannot be a filter is a 422 naming the parameter, never a 500.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from tarry.storage import events

__all__ = ["EventQuery", "event_query", "to_filter"]

_MAX_TEXT = 1024

NameParam = Annotated[
    list[str] | None,
    Query(description="Event name, or a prefix ending in `*`; repeat for any of several."),
]
ResourceParam = Annotated[
    str | None, Query(description="The resource's id, or a prefix ending in `*`.")
]
RelatedParam = Annotated[str | None, Query(description="The id of a related resource.")]
SinceParam = Annotated[
    datetime.datetime | None, Query(description="Only events that occurred at or after this.")
]
UntilParam = Annotated[
    datetime.datetime | None, Query(description="Only events that occurred at or before this.")
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
    if "*" in text[:-1] or (not prefix and text.endswith("*")):
        where = "only at the end, for a prefix" if prefix else "not allowed"
        raise _refuse(param, f"'*' is {where}")
    return text


def _seconds(value: datetime.datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def to_filter(
    names: Sequence[str] | None,
    resource: str | None,
    related: str | None,
    since: datetime.datetime | None,
    until: datetime.datetime | None,
) -> EventQuery:
    """The checked filter of these parameters.

    Raises:
        RequestValidationError: A value cannot be a filter (a 422 naming it).
    """
    checked = tuple(_pattern("event", n) for n in names or () if n.strip())
    found = EventQuery(
        checked,
        _pattern("resource", resource) if resource else None,
        _pattern("related", related, prefix=False) if related else None,
        _seconds(since),
        _seconds(until),
    )
    if found.since is not None and found.until is not None and found.since > found.until:
        raise _refuse("until", "must not be before since")
    return found


def event_query(
    event: NameParam = None,
    resource: ResourceParam = None,
    related: RelatedParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> EventQuery:
    """The FastAPI dependency of `to_filter`."""
    return to_filter(event, resource, related, since, until)
