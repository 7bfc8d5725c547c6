r"""The REST API of global concurrency limits and task tag limits, under `/api/concurrency-limits`.

A task tag's limit is the limit named `tag:TAG`: it is read, changed, reset and
deleted at `/api/concurrency-limits/tag:TAG` like any other, and each limit's `tag`
field names its tag (`null` for a limit that is not a tag's).

Every route calls `tarry.limit_service` in a worker thread and returns the models
of `tarry.web.limit_schemas`. Errors are `ErrorOut` bodies, as in `tarry.web.api`:
404 an unknown limit; 409 a name that is taken or that `tarry.concurrency` refuses
(`.`, `..`, only spaces); 422 a value out of bounds (a negative limit or decay, a
name with `/`, `%`, `&`, `<`, `>`, `\` or a control character).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from tarry import host, limit_service
from tarry.web import api
from tarry.web.limit_schemas import ConcurrencyLimitIn, ConcurrencyLimitOut, ConcurrencyLimitUpdate
from tarry.web.schemas import ErrorOut

__all__ = ["router"]

router = APIRouter(
    prefix="/api/concurrency-limits",
    tags=["concurrency limits"],
    dependencies=[Depends(api.require_token)],
    responses=api.ERROR_RESPONSES,
)

_REASONS = {
    400: "The body cannot be read (not UTF-8 or not JSON).",
    404: "No concurrency limit has this name.",
    409: "A limit has this name already, or the name cannot be a limit's (`.`, `..`, blank).",
}


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _REASONS[code]} for code in codes}


LimitName = Annotated[
    str,
    Path(min_length=1, max_length=300, description="The limit's name (`tag:TAG` for a tag's)."),
]


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


@router.get("", summary="List concurrency limits")
async def list_limits(request: Request) -> list[ConcurrencyLimitOut]:
    """Every limit by name, tag limits (`tag:TAG`) among them, with slots in use and holders."""
    found = await run_in_threadpool(limit_service.list_limits, hst=_host(request))
    return [ConcurrencyLimitOut.of(status) for status in found]


@router.post("", status_code=201, summary="Make a concurrency limit", responses=_doc(400, 409))
async def create_limit(request: Request, body: ConcurrencyLimitIn) -> ConcurrencyLimitOut:
    """Makes the limit; a limit of that name already is a 409. Name it `tag:TAG` for a tag."""
    made = await run_in_threadpool(
        limit_service.create_limit,
        body.name,
        body.limit,
        slot_decay_per_second=body.slot_decay_per_second,
        active=body.active,
        hst=_host(request),
    )
    return ConcurrencyLimitOut.of(made)


@router.get("/{name}", summary="One concurrency limit", responses=_doc(404))
async def get_limit(request: Request, name: LimitName) -> ConcurrencyLimitOut:
    """The limit with its slots in use now and who holds them."""
    found = await run_in_threadpool(limit_service.get_limit, name, hst=_host(request))
    return ConcurrencyLimitOut.of(found)


@router.patch("/{name}", summary="Change a concurrency limit", responses=_doc(400, 404, 409))
async def update_limit(
    request: Request, name: LimitName, body: ConcurrencyLimitUpdate
) -> ConcurrencyLimitOut:
    """Fields left out (or `null`) stay; slots held stay held. `active: false` disables it."""
    changed = await run_in_threadpool(
        limit_service.update_limit,
        name,
        limit=body.limit,
        slot_decay_per_second=body.slot_decay_per_second,
        active=body.active,
        hst=_host(request),
    )
    return ConcurrencyLimitOut.of(changed)


@router.post("/{name}/reset", summary="Free a limit's slots", responses=_doc(404))
async def reset_limit(request: Request, name: LimitName) -> ConcurrencyLimitOut:
    """Frees every slot now, held or decaying; holders still running go on, uncounted."""
    found = await run_in_threadpool(limit_service.reset_limit, name, hst=_host(request))
    return ConcurrencyLimitOut.of(found)


@router.delete(
    "/{name}", status_code=204, summary="Delete a concurrency limit", responses=_doc(404)
)
async def delete_limit(request: Request, name: LimitName) -> Response:
    """Deletes the limit and its holders' slots; code naming it is no longer held back."""
    await run_in_threadpool(limit_service.delete_limit, name, hst=_host(request))
    return Response(status_code=204)
