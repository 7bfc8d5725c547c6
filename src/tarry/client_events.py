"""The event methods of `Client` and `AsyncClient`: emit, read a page, follow the stream.

Two mixins, one per client, over the calls of `tarry.client_event_calls`: what
each method sends and how a stream is read is decided once. Events are
`tarry.events.Event`; a page is `EventPage` (`events`, and `next`: the cursor of
the next, older page, or `None`).
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tarry import client_event_calls as event_calls
from tarry.client_calls import Call

if TYPE_CHECKING:
    import httpx

    from tarry.events import Event
    from tarry.web.event_schemas import EventPage

__all__ = ["AsyncEventMethods", "EventMethods"]

T = TypeVar("T")
_HEARTBEAT = 10.0
Names = str | Iterable[str] | None
When = datetime.datetime | None


class EventMethods:
    """The event methods of `Client`."""

    _http: httpx.Client

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    def emit_event(  # noqa: PLR0917 - `tarry.events.emit_event`'s signature
        self,
        event: str,
        resource: Mapping[str, str],
        occurred: datetime.datetime | None = None,
        related: Sequence[Mapping[str, str]] | None = None,
        payload: Mapping[str, Any] | None = None,
        id: Any = None,
        follows: Any = None,
    ) -> Event:
        """Store an event on the server, as `tarry.events.emit_event` does here.

        Raises:
            pydantic.ValidationError: A field does not fit (checked before sending).
            errors.ValueRefused: The server cannot store the payload unchanged.
        """
        built = event_calls.build_event(event, resource, occurred, related, payload, id, follows)
        self._send(event_calls.emit_events_call([built]))
        return built

    def emit_events(self, items: Sequence[Event]) -> int:
        """Store events, all or none; returns how many were new."""
        return self._send(event_calls.emit_events_call(items))

    def read_events(
        self,
        event: Names = None,
        *,
        resource: str | None = None,
        related: str | None = None,
        since: When = None,
        until: When = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EventPage:
        """One page of events, newest first.

        Args:
            event: A name or a prefix ending in `*`, or several.
            resource: The resource's id, or a prefix ending in `*`.
            related: The id of a related resource.
            since: Only events that occurred at or after this.
            until: Only events that occurred at or before this.
            limit: Page size, 1 to 500.
            cursor: The `next` of the page before.
        """
        filters = event_calls.filter_params(event, resource, related, since, until)
        return self._send(event_calls.read_events_call(filters, limit, cursor))

    def stream_events(
        self,
        event: Names = None,
        *,
        resource: str | None = None,
        related: str | None = None,
        after: int | None = None,
    ) -> Iterator[Event]:
        """Events as they are stored, from now on (or after the event with `seq` `after`).

        Iterate it; it ends only when the server closes the stream.
        """
        filters = event_calls.filter_params(event, resource, related, None, None)
        params = event_calls.stream_params(filters, after, _HEARTBEAT)
        reader = event_calls.StreamReader()
        with self._http.stream("GET", "events/stream", params=params) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                found = reader.feed(line)
                if found is not None:
                    yield found


class AsyncEventMethods:
    """The event methods of `AsyncClient`."""

    _http: httpx.AsyncClient

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    async def emit_event(  # noqa: PLR0917 - `tarry.events.emit_event`'s signature
        self,
        event: str,
        resource: Mapping[str, str],
        occurred: datetime.datetime | None = None,
        related: Sequence[Mapping[str, str]] | None = None,
        payload: Mapping[str, Any] | None = None,
        id: Any = None,
        follows: Any = None,
    ) -> Event:
        """Async version of `Client.emit_event`."""
        built = event_calls.build_event(event, resource, occurred, related, payload, id, follows)
        await self._send(event_calls.emit_events_call([built]))
        return built

    async def emit_events(self, items: Sequence[Event]) -> int:
        """Async version of `Client.emit_events`."""
        return await self._send(event_calls.emit_events_call(items))

    async def read_events(
        self,
        event: Names = None,
        *,
        resource: str | None = None,
        related: str | None = None,
        since: When = None,
        until: When = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EventPage:
        """Async version of `Client.read_events`."""
        filters = event_calls.filter_params(event, resource, related, since, until)
        return await self._send(event_calls.read_events_call(filters, limit, cursor))

    async def stream_events(
        self,
        event: Names = None,
        *,
        resource: str | None = None,
        related: str | None = None,
        after: int | None = None,
    ) -> AsyncIterator[Event]:
        """Async version of `Client.stream_events`."""
        filters = event_calls.filter_params(event, resource, related, None, None)
        params = event_calls.stream_params(filters, after, _HEARTBEAT)
        reader = event_calls.StreamReader()
        async with self._http.stream("GET", "events/stream", params=params) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                found = reader.feed(line)
                if found is not None:
                    yield found
