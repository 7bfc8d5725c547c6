"""The REST API of work pools and their queues, under `/api/work-pools`.

Every route calls `tarry.pool_service` in a worker thread and returns the models of
`tarry.web.pool_schemas`. Errors are `ErrorOut` bodies, as in `tarry.web.api`: 404
an unknown pool or queue; 409 a pool or queue that exists already, or the default
one, which cannot be deleted; 422 a value out of bounds (a negative limit, a
priority under 1, a name with other characters than letters, digits, `-`, `_`, `.`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from tarry import host, pool_service
from tarry.web import api
from tarry.web.pool_schemas import (
    WorkPoolIn,
    WorkPoolOut,
    WorkPoolUpdate,
    WorkQueueIn,
    WorkQueueOut,
    WorkQueueUpdate,
)
from tarry.web.schemas import ErrorOut

__all__ = ["router"]

router = APIRouter(
    prefix="/api/work-pools",
    tags=["work pools"],
    dependencies=[Depends(api.require_token)],
    responses=api.ERROR_RESPONSES,
)

_REASONS = {
    400: "The body cannot be read (not UTF-8 or not JSON).",
    404: "No work pool, or no queue of the pool, has this name.",
    409: "The pool or queue exists already, or it is the default one (which stays).",
}


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _REASONS[code]} for code in codes}


PoolName = Annotated[str, Path(min_length=1, max_length=100, description="The pool's name.")]
QueueName = Annotated[str, Path(min_length=1, max_length=100, description="The queue's name.")]


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


@router.get("", summary="List work pools")
async def list_work_pools(request: Request) -> list[WorkPoolOut]:
    """Every pool by name, with its queues and how many runs wait and hold a slot."""
    found = await run_in_threadpool(pool_service.list_work_pools, hst=_host(request))
    return [WorkPoolOut.of(status) for status in found]


@router.post("", status_code=201, summary="Make a work pool", responses=_doc(400, 409))
async def create_work_pool(request: Request, body: WorkPoolIn) -> WorkPoolOut:
    """Makes the pool with its `default` queue; a pool of that name already is a 409."""
    made = await run_in_threadpool(
        pool_service.create_work_pool,
        body.name,
        description=body.description,
        concurrency_limit=body.concurrency_limit,
        paused=body.paused,
        hst=_host(request),
    )
    return WorkPoolOut.of(made)


@router.get("/{name}", summary="One work pool", responses=_doc(404))
async def get_work_pool(request: Request, name: PoolName) -> WorkPoolOut:
    """The pool with its queues and their counts."""
    found = await run_in_threadpool(pool_service.get_work_pool, name, hst=_host(request))
    return WorkPoolOut.of(found)


@router.patch("/{name}", summary="Change a work pool", responses=_doc(400, 404))
async def update_work_pool(request: Request, name: PoolName, body: WorkPoolUpdate) -> WorkPoolOut:
    """Fields left out stay; `"concurrency_limit": null` removes the limit.

    A paused pool starts none of its Pending runs; the runs in progress go on.
    """
    changed = await run_in_threadpool(
        pool_service.update_work_pool,
        name,
        description=body.description,
        concurrency_limit=body.limit_change(),
        paused=body.paused,
        hst=_host(request),
    )
    return WorkPoolOut.of(changed)


@router.delete("/{name}", status_code=204, summary="Delete a work pool", responses=_doc(404, 409))
async def delete_work_pool(request: Request, name: PoolName) -> Response:
    """Deletes the pool and its queues; its runs stay, for a pool of that name to run them."""
    await run_in_threadpool(pool_service.delete_work_pool, name, hst=_host(request))
    return Response(status_code=204)


@router.get("/{pool}/queues", summary="A work pool's queues", responses=_doc(404))
async def list_work_queues(request: Request, pool: PoolName) -> list[WorkQueueOut]:
    """Its queues by priority, then name, with their counts."""
    found = await run_in_threadpool(pool_service.list_work_queues, pool, hst=_host(request))
    return [WorkQueueOut.of(status) for status in found]


@router.post(
    "/{pool}/queues", status_code=201, summary="Make a work queue", responses=_doc(400, 404, 409)
)
async def create_work_queue(request: Request, pool: PoolName, body: WorkQueueIn) -> WorkQueueOut:
    """Makes the queue in the pool; without `priority` it comes after the pool's others."""
    made = await run_in_threadpool(
        pool_service.create_work_queue,
        body.name,
        pool,
        priority=body.priority,
        concurrency_limit=body.concurrency_limit,
        description=body.description,
        paused=body.paused,
        hst=_host(request),
    )
    return WorkQueueOut.of(made)


@router.get("/{pool}/queues/{name}", summary="One work queue", responses=_doc(404))
async def get_work_queue(request: Request, pool: PoolName, name: QueueName) -> WorkQueueOut:
    """The queue with how many of its runs wait and hold a slot."""
    found = await run_in_threadpool(pool_service.get_work_queue, name, pool, hst=_host(request))
    return WorkQueueOut.of(found)


@router.patch("/{pool}/queues/{name}", summary="Change a work queue", responses=_doc(400, 404))
async def update_work_queue(
    request: Request, pool: PoolName, name: QueueName, body: WorkQueueUpdate
) -> WorkQueueOut:
    """Fields left out stay; `"concurrency_limit": null` removes the limit."""
    changed = await run_in_threadpool(
        pool_service.update_work_queue,
        name,
        pool,
        priority=body.priority,
        concurrency_limit=body.limit_change(),
        description=body.description,
        paused=body.paused,
        hst=_host(request),
    )
    return WorkQueueOut.of(changed)


@router.delete(
    "/{pool}/queues/{name}",
    status_code=204,
    summary="Delete a work queue",
    responses=_doc(404, 409),
)
async def delete_work_queue(request: Request, pool: PoolName, name: QueueName) -> Response:
    """Deletes the queue; its Pending runs stay, for a queue of that name to run them."""
    await run_in_threadpool(pool_service.delete_work_queue, name, pool, hst=_host(request))
    return Response(status_code=204)
