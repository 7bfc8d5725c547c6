"""The Events pages: events newest first with filters in the URL, and one event as JSON.

The list takes the filters of `GET /api/events` (`event`, `resource`, `related`) as
query parameters, so a filtered view is a link, and pages by keyset (`cursor`, the
`seq` below which the next page starts). A run's event links to the run. A filter
that cannot be one shows the page with the reason, and no events.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tarry import host
from tarry.events import _models
from tarry.storage import events
from tarry.web import event_api, event_query, login, pages

__all__ = ["EventRow", "event_page", "events_page", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

PAGE_SIZE = 50
_RUN = "tarry.flow-run."


@dataclasses.dataclass(frozen=True)
class EventRow:
    """An event as the list shows it."""

    record: events.EventRecord
    """The event."""

    @property
    def run_id(self) -> str | None:
        """The run it is about: its resource, or else a related flow-run (not a parent)."""
        if self.record.resource_id.startswith(_RUN):
            return self.record.resource_id.removeprefix(_RUN)
        for related in self.record.related:
            role = related.get(events.RESOURCE_ROLE)
            if role == "flow-run" and related[events.RESOURCE_ID].startswith(_RUN):
                return related[events.RESOURCE_ID].removeprefix(_RUN)
        return None

    @property
    def resource_name(self) -> str:
        """The resource's `tarry.resource.name`, or nothing."""
        return self.record.resource.get(events.RESOURCE_NAME, "")


Text = Annotated[str, Query(max_length=1024)]


@router.get("/events")
async def events_page(
    request: Request,
    event: Text = "",
    resource: Text = "",
    related: Text = "",
    cursor: Annotated[int | None, Query(ge=1, le=event_api.MAX_SEQ)] = None,
) -> Response:
    """Events newest first, `PAGE_SIZE` at a time, filtered as the URL says."""
    context: dict[str, object] = {
        "section": "events",
        "event": event,
        "resource": resource,
        "related": related,
        "rows": [],
        "problem": None,
        "older": None,
        "newer": pages.path_with_query(request, cursor=None) if cursor else None,
    }
    try:
        names = event.replace(",", " ").split()
        query = event_query.to_filter(names, resource, related, None, None)
    except RequestValidationError as exc:
        [found] = exc.errors()[:1]
        context["problem"] = f"{found['loc'][-1]}: {found['msg']}"
        return pages.render(request, "events.html", context, status=422)
    where = query.where(before_seq=cursor, limit=PAGE_SIZE + 1)
    found = await run_in_threadpool(pages.host_of(request).store.list_events, where)
    shown = found[:PAGE_SIZE]
    context["rows"] = [EventRow(r) for r in shown]
    if len(found) > PAGE_SIZE:
        context["older"] = pages.path_with_query(request, cursor=shown[-1].seq)
    return pages.render(request, "events.html", context)


@router.get("/events/{seq}")
async def event_page(request: Request, seq: Annotated[int, PathParam(ge=1)]) -> Response:
    """One event: its fields and its whole JSON."""
    record = await run_in_threadpool(_find, pages.host_of(request), seq)
    body = _models.from_record(record).model_dump(mode="json")
    context = {
        "section": "events",
        "row": EventRow(record),
        "json": json.dumps(body, indent=2, ensure_ascii=False),
    }
    return pages.render(request, "event.html", context)


def _find(hst: host.Host, seq: int) -> events.EventRecord:
    found = event_api.find_event(hst, min(seq, event_api.MAX_SEQ))
    if found is None:
        raise HTTPException(404, f"no event has seq {seq} (it may be past its retention)")
    return found
