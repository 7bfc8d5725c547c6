"""The REST API of automations, under `/api/automations`.

An automation is named in a path by its id or its name (names are unique). The
body of `POST` and `PUT` is an automation in Prefect's JSON shape (seed 003's
compound trigger is taken as it is, `prefect.` names and all); `PATCH` takes
`{"enabled": true|false}`, as Prefect's partial update.

Every route calls `tarry.automation_service` in a worker thread and returns the
models of `tarry.web.automation_schemas`. Errors are `ErrorOut` bodies, as in
`tarry.web.api`: 404 an unknown automation; 409 a name another automation has;
422 a document that does not fit (an unknown trigger or action `type`, `within`
below 0, `threshold` below 1, Prefect's `block_document_id`, ...), with one field
error each, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tarry import automation_service, host
from tarry.web import api
from tarry.web.automation_schemas import (
    AutomationEnabledIn,
    AutomationIn,
    AutomationOut,
    FiringOut,
)
from tarry.web.schemas import ErrorOut

__all__ = ["router"]

router = APIRouter(
    prefix="/api/automations",
    tags=["automations"],
    dependencies=[Depends(api.require_token)],
    responses=api.ERROR_RESPONSES,
)

_REASONS = {
    400: "The body cannot be read (not UTF-8 or not JSON).",
    404: "No automation has this id or name.",
    409: "Another automation has this name (names are unique).",
}


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _REASONS[code]} for code in codes}


AutomationRef = Annotated[
    str, Path(min_length=1, max_length=300, description="The automation's id or name.")
]


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


@router.get("", summary="List automations")
async def list_automations(request: Request) -> list[AutomationOut]:
    """Every automation by name, enabled or not, with when each last fired."""
    found = await run_in_threadpool(automation_service.list_automations, hst=_host(request))
    return [AutomationOut.of(each) for each in found]


@router.post("", status_code=201, summary="Make an automation", responses=_doc(400, 409))
async def create_automation(request: Request, body: AutomationIn) -> AutomationOut:
    """Stores the automation and gives it an id; it is evaluated from the next event on."""
    made = await run_in_threadpool(automation_service.create_automation, body, hst=_host(request))
    return AutomationOut.of(made)


@router.get("/{ref}", summary="One automation", responses=_doc(404))
async def get_automation(request: Request, ref: AutomationRef) -> AutomationOut:
    """The automation with this id, else the one with this name."""
    found = await run_in_threadpool(automation_service.get_automation, ref, hst=_host(request))
    return AutomationOut.of(found)


@router.put("/{ref}", summary="Replace an automation", responses=_doc(400, 404, 409))
async def update_automation(
    request: Request, ref: AutomationRef, body: AutomationIn
) -> AutomationOut:
    """Replaces its name, trigger, actions and settings; its id and firings stay."""
    changed = await run_in_threadpool(
        automation_service.update_automation, ref, body, hst=_host(request)
    )
    return AutomationOut.of(changed)


@router.patch("/{ref}", summary="Enable or disable an automation", responses=_doc(400, 404))
async def set_enabled(
    request: Request, ref: AutomationRef, body: AutomationEnabledIn
) -> AutomationOut:
    """`{"enabled": false}` keeps it but stops evaluating it; `true` starts again."""
    changed = await run_in_threadpool(
        automation_service.set_enabled, ref, body.enabled, hst=_host(request)
    )
    return AutomationOut.of(changed)


@router.delete("/{ref}", status_code=204, summary="Delete an automation", responses=_doc(404))
async def delete_automation(request: Request, ref: AutomationRef) -> Response:
    """Deletes it and its evaluation state; its firings stay readable by its id."""
    await run_in_threadpool(automation_service.delete_automation, ref, hst=_host(request))
    return Response(status_code=204)


@router.get("/{ref}/firings", summary="An automation's firings", responses=_doc(404))
async def firings(
    request: Request,
    ref: AutomationRef,
    limit: Annotated[int, Query(ge=1, le=500, description="The most firings.")] = 50,
) -> list[FiringOut]:
    """Its latest firings, newest first, each with the status of every action."""
    found = await run_in_threadpool(automation_service.firings_of, ref, limit, hst=_host(request))
    return [FiringOut.of(each) for each in found]
