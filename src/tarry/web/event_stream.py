"""Server-sent events of the event stream: what `GET /api/events/stream` writes.

A stream starts after `Last-Event-ID` (or `after`), or at the newest event when
neither is given, and writes each matching event as `id: <seq>` and `data: <JSON>`.
It wakes when this process stores events (the store's bell; on PostgreSQL, any
process's), and looks anyway every `POLL_SECONDS` (SQLite: events stored by other
processes). A comment line every `heartbeat` seconds keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from tarry import host
from tarry.events import _models
from tarry.storage import events
from tarry.web.event_query import EventQuery

__all__ = ["POLL_SECONDS", "sse_lines"]

POLL_SECONDS = 0.1
"""How often a stream looks for events without being woken (≤ 100 ms)."""
_BATCH = 200


def _frame(record: events.EventRecord) -> str:
    body = _models.from_record(record).model_dump(mode="json")
    return f"id: {record.seq}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


async def sse_lines(
    hst: host.Host,
    query: EventQuery,
    after: int | None,
    heartbeat: float,
    gone: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """The stream's text, frame by frame, until `gone()` says the client left."""
    loop = asyncio.get_running_loop()
    bell = asyncio.Event()

    def ring() -> None:
        loop.call_soon_threadsafe(bell.set)

    stop = hst.store.subscribe_events(ring)
    try:
        cursor = after if after is not None else await run_in_threadpool(hst.store.last_event_seq)
        where = query.where()
        yield ": tarry event stream\n\n"
        sent = loop.time()
        while not await gone():
            found = await run_in_threadpool(hst.store.events_after, cursor, _BATCH)
            for record in found:
                cursor = record.seq
                if events.matches(record, where):
                    sent = loop.time()
                    yield _frame(record)
            if len(found) == _BATCH:
                continue
            await _idle(bell)
            if loop.time() - sent >= heartbeat:
                sent = loop.time()
                yield ": heartbeat\n\n"
    finally:
        stop()


async def _idle(bell: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(bell.wait(), POLL_SECONDS)
    except TimeoutError:
        return
    bell.clear()
