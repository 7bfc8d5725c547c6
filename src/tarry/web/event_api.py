"""The REST API of events, under `/api/events`: list, emit, one by `seq`, and the SSE stream.

`GET /api/events` lists events newest first, filtered (see `tarry.web.event_query`),
a page at a time: pass the `next` of a page as `cursor` for the next one.
`POST /api/events` stores one event or a list (Prefect's event shape; `prefect.`
names are taken as `tarry.`): 422 with field messages for one that does not fit,
and then none is stored. `GET /api/events/stream` streams events as they are
stored (server-sent events; resume with `Last-Event-ID` or `after`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from tarry import event_service, host
from tarry.events import Event, _models
from tarry.storage import events
from tarry.web import api, event_stream
from tarry.web.event_query import EventQuery, event_query
from tarry.web.event_schemas import EventIn, EventPage, EventsStored
from tarry.web.schemas import ErrorOut

__all__ = ["MAX_SEQ", "find_event", "router"]

router = APIRouter(
    prefix="/api/events",
    tags=["events"],
    dependencies=[Depends(api.require_token)],
    responses=api.ERROR_RESPONSES,
)

MAX_POSTED = 1000
"""The most events one `POST /api/events` stores."""


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


Filter = Annotated[EventQuery, Depends(event_query)]
MAX_SEQ = 2**62
"""Above any `seq` a store gives (both SQL stores keep 64-bit integers)."""
Cursor = Annotated[
    int | None, Query(ge=1, le=MAX_SEQ, description="The `next` of the page before.")
]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]


@router.get("", summary="List events")
async def list_events(
    request: Request, query: Filter, cursor: Cursor = None, limit: Limit = 50
) -> EventPage:
    """Events matching the filter, newest first, `limit` at a time."""
    where = query.where(before_seq=cursor, limit=limit + 1)
    found = await run_in_threadpool(_host(request).store.list_events, where)
    page = found[:limit]
    more = len(found) > limit
    return EventPage(
        events=[_models.from_record(r) for r in page],
        next=str(page[-1].seq) if more else None,
    )


Posted = Annotated[
    EventIn | list[EventIn],
    Body(description="One event or a list: `event`, `resource` (with `tarry.resource.id`), "
         "optionally `occurred`, `related`, `payload`, `id`, `follows`."),
]  # fmt: skip


@router.post(
    "",
    status_code=201,
    summary="Emit events",
    responses={400: {"model": ErrorOut, "description": "The body is not JSON."}},
)
async def post_events(request: Request, body: Posted) -> EventsStored:
    """Store events (all or, when one is refused, none); an id stored before is skipped."""
    posted = body if isinstance(body, list) else [body]
    if len(posted) > MAX_POSTED:
        raise HTTPException(413, f"at most {MAX_POSTED} events per request")
    records = [_models.to_record(e.to_event()) for e in posted]
    stored = await run_in_threadpool(event_service.store_events, _host(request), records)
    return EventsStored(stored=stored, ids=[r.id for r in records])


@router.get(
    "/stream",
    summary="Stream events as they are stored (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    query: Filter,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Start after this `seq`.")
    ] = None,
    heartbeat: Annotated[float, Query(ge=0.05, le=300, description="Seconds.")] = 15.0,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_SEQ)] = None,
) -> StreamingResponse:
    """Each matching event as `id: <seq>` and `data: <event JSON>`, from now (or `after`)."""
    start = last_event_id if last_event_id is not None else after
    lines = event_stream.sse_lines(_host(request), query, start, heartbeat, request.is_disconnected)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(lines, media_type="text/event-stream", headers=headers)


@router.get("/{seq}", summary="One event, by its seq", responses={404: {"model": ErrorOut}})
async def get_event(request: Request, seq: Annotated[int, Path(ge=1, le=MAX_SEQ)]) -> Event:
    """The event with this `seq`."""
    found = await run_in_threadpool(find_event, _host(request), seq)
    if found is None:
        raise HTTPException(404, f"no event has seq {seq} (it may be past its retention)")
    return _models.from_record(found)


def find_event(hst: host.Host, seq: int) -> events.EventRecord | None:
    """The stored event with this `seq`, or `None`."""
    found = hst.store.list_events(events.EventFilter(before_seq=seq + 1, limit=1))
    return found[0] if found and found[0].seq == seq else None
