"""The REST API under `/api`: runs, inputs (the inbox), answers, deployments, schedules.

Work pools and their queues are `tarry.web.pool_api`, under `/api/work-pools`;
concurrency limits are `tarry.web.limit_api`, under `/api/concurrency-limits`.

Every route calls `tarry.service` in a worker thread (the store is synchronous)
and returns the models of `tarry.web.schemas`. Errors are `ErrorOut` bodies:
404 unknown run, wait, deployment or schedule; 409 already answered, ended or not waiting;
422 invalid input with field errors (also for what `tarry.boundary` refuses: a
NUL character, a number that is not finite, a value too deep or too large); 413
a body over `TARRY_MAX_BODY_BYTES`; 401 without the API token when one is set;
405 with `Allow` for a method a path does not take.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from tarry import errors, host, service
from tarry.states import RunState
from tarry.storage import UNSET
from tarry.web import auth, schemas
from tarry.web.schemas import (
    AnswerIn,
    AnswerOut,
    DeploymentOut,
    ErrorOut,
    InputOut,
    LogOut,
    MessageOut,
    Page,
    ResumeIn,
    RunDetailOut,
    RunOut,
    ScheduleActiveIn,
    ScheduleOut,
    SendIn,
    StartRunIn,
    UpcomingRunOut,
)

__all__ = ["ERROR_RESPONSES", "error_status", "require_token", "router"]


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    reasons = {
        400: "The body cannot be read (not UTF-8 or not JSON).",
        401: "The API token is missing or wrong.",
        404: "No such run, wait, deployment or schedule.",
        409: "The run or wait is not in a state that allows this.",
        413: "The request body is over the server's limit (`TARRY_MAX_BODY_BYTES`).",
        422: "The request or the answer is invalid, or holds what tarry cannot store "
        "(a NUL character, a number that is not finite, too deep or too large); see `errors`.",
    }
    return {code: {"model": ErrorOut, "description": reasons[code]} for code in codes}


ERROR_RESPONSES = _doc(401, 413, 422)
"""Responses every route can give."""

_STATUS: list[tuple[type[Exception], int, str]] = [
    (errors.NotFound, 404, "not_found"),
    (errors.ValueRefused, 422, "value_refused"),
    (errors.InputInvalid, 422, "invalid_input"),
    (errors.ParameterError, 422, "invalid_parameters"),
    (errors.AlreadyAnswered, 409, "already_answered"),
    (errors.NotWaiting, 409, "not_waiting"),
    (errors.RunEnded, 409, "run_ended"),
    (errors.NotRetryable, 409, "not_retryable"),
    (errors.InvalidTransition, 409, "invalid_transition"),
    (errors.FlowLoadError, 409, "flow_not_loadable"),
    (errors.WorkPoolRefused, 409, "work_pool_refused"),
    (errors.ConcurrencyLimitRefused, 409, "concurrency_limit_refused"),
    (errors.WebhookRefused, 422, "webhook_refused"),
    (errors.WebhookTaken, 409, "webhook_taken"),
    (errors.WebhookDisabled, 409, "webhook_disabled"),
    (errors.WebhookSecretMissing, 401, "webhook_secret_missing"),
    (errors.WebhookSecretWrong, 403, "webhook_secret_wrong"),
    (errors.AutomationNameTaken, 409, "automation_name_taken"),
    (errors.AutomationInvalid, 422, "invalid_automation"),
]


def error_status(exc: Exception) -> tuple[int, str] | None:
    """The HTTP status and error code of a tarry error the API reports, or `None`."""
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            return status, code
    return None


def require_token(request: Request) -> None:
    """Refuse (401) a request without the server's API token, when it has one."""
    token = _host(request).settings.api_token
    if not auth.is_authenticated(request, token):
        raise HTTPException(401, "this server needs its API token: Authorization: Bearer ...")


router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")]
RunId = Annotated[
    str,
    Path(min_length=1, max_length=100, description="Run id, unique prefix of one, or run name."),
]
WaitId = Annotated[str, Path(min_length=1, max_length=100, description="Wait id.")]


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


def _page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    # One more item than asked for was read: it only says whether a next page exists.
    more = len(items) > limit
    return {
        "items": items[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


@router.get("/health", summary="Is the server up", tags=["server"])
async def health() -> dict[str, str]:
    """Returns `{"status": "ok"}` while the server runs."""
    return {"status": "ok"}


@router.get("/runs", summary="List runs", tags=["runs"])
async def list_runs(
    request: Request,
    *,
    limit: Limit = 50,
    offset: Offset = 0,
    state: Annotated[list[RunState] | None, Query(description="Only these states.")] = None,
    flow: Annotated[
        str | None,
        Query(max_length=200, description="Only this flow.", json_schema_extra=schemas.TEXT),
    ] = None,
    top_level: Annotated[bool, Query(description="Only runs that are not child runs.")] = False,
) -> Page[RunOut]:
    """Runs, newest first."""
    hst = _host(request)
    runs = await run_in_threadpool(
        service.list_runs,
        states=state or (),
        flow_name=flow,
        parent_id=None if top_level else UNSET,
        limit=limit + 1,
        offset=offset,
        hst=hst,
    )
    now = time.time()
    return Page[RunOut](**_page([RunOut.of(r, now) for r in runs], limit, offset))


@router.post(
    "/runs",
    status_code=201,
    summary="Start a run of a deployment",
    tags=["runs"],
    responses=_doc(400, 404, 409),
)
async def start_run(request: Request, body: StartRunIn) -> RunOut:
    """Creates a Pending run; the server's worker starts it at once."""
    run = await run_in_threadpool(
        service.start_run, body.deployment, body.parameters, hst=_host(request)
    )
    return RunOut.of(run)


@router.get("/runs/{run_id}", summary="One run in detail", tags=["runs"], responses=_doc(404))
async def get_run(request: Request, run_id: RunId) -> RunDetailOut:
    """The run with its journal, state changes, waits, child runs and first 1000 log lines."""
    detail = await run_in_threadpool(service.get_run_detail, run_id, hst=_host(request))
    return RunDetailOut.of(detail, time.time())


@router.get("/runs/{run_id}/logs", summary="A run's log lines", tags=["runs"], responses=_doc(404))
async def get_logs(request: Request, run_id: RunId, limit: Limit = 500) -> list[LogOut]:
    """Log lines, oldest first."""
    detail = await run_in_threadpool(service.get_run_detail, run_id, hst=_host(request))
    return [LogOut.of(line) for line in detail.logs[:limit]]


@router.post(
    "/runs/{run_id}/cancel", summary="Cancel a run", tags=["runs"], responses=_doc(404, 409)
)
async def cancel_run(request: Request, run_id: RunId) -> RunOut:
    """Cancels the run and its child runs; their open waits close."""
    run = await run_in_threadpool(service.cancel_run, run_id, by="api", hst=_host(request))
    return RunOut.of(run)


@router.post(
    "/runs/{run_id}/retry",
    summary="Retry a failed run from its journal",
    tags=["runs"],
    responses=_doc(404, 409),
)
async def retry_run(request: Request, run_id: RunId) -> RunOut:
    """The same run continues, Pending, as its next attempt: finished steps keep their results.

    Only a Failed or Crashed top-level run is retried (409 otherwise).
    """
    run = await run_in_threadpool(service.retry_run, run_id, by="api", hst=_host(request))
    return RunOut.of(run)


@router.post(
    "/runs/{run_id}/rerun",
    status_code=201,
    summary="Start a new run with the same parameters",
    tags=["runs"],
    responses=_doc(404),
)
async def rerun(request: Request, run_id: RunId) -> RunOut:
    """A new Pending run of the same flow and parameters; the old run stays as it is."""
    run = await run_in_threadpool(service.rerun, run_id, hst=_host(request))
    return RunOut.of(run)


@router.post(
    "/runs/{run_id}/suspend",
    summary="Take a waiting run out of memory",
    tags=["runs"],
    responses=_doc(404, 409),
)
async def suspend_run(request: Request, run_id: RunId) -> RunOut:
    """The run keeps waiting, holding no thread; it resumes by replay when answered."""
    run = await run_in_threadpool(service.suspend_run, run_id, hst=_host(request))
    return RunOut.of(run)


@router.post(
    "/runs/{run_id}/resume",
    summary="Resume a paused run",
    tags=["runs"],
    responses=_doc(400, 404, 409),
)
async def resume_run(request: Request, run_id: RunId, body: ResumeIn) -> AnswerOut:
    """Answers the wait the run is on (or the one named `key`), like `resume_flow_run`."""
    return await _answer(request, run_id, body, key=body.key)


async def _answer(request: Request, run_id: str, body: AnswerIn, **which: str | None) -> AnswerOut:
    """Submit `body` to the run's wait (`key=` or `wait_id=`), then describe the outcome."""
    hst = _host(request)
    submitted = await run_in_threadpool(
        service.submit_input,
        run_id,
        body.input,
        responder=body.responder,
        channel="api",
        hst=hst,
        **which,
    )
    wait = submitted.wait
    if wait is None:
        return AnswerOut(accepted=False, wait=None, kept_for_later=True)
    item = await run_in_threadpool(service.get_inbox_item, wait.id, hst=hst)
    return AnswerOut(accepted=True, wait=InputOut.of_item(item), kept_for_later=False)


@router.post(
    "/runs/{run_id}/messages",
    status_code=201,
    summary="Send a message to a run",
    tags=["messages"],
    responses=_doc(400, 404, 409),
)
async def send_message(request: Request, run_id: RunId, body: SendIn) -> MessageOut:
    """The run receives it with `receive_input`, exactly once; a key already sent is ignored.

    A run that has ended receives nothing more: a message to it is refused (409).
    """
    sent = await run_in_threadpool(
        service.send_message,
        run_id,
        body.value,
        key=body.key,
        sender=body.sender or "api",
        hst=_host(request),
    )
    return MessageOut.of(sent)


@router.get(
    "/runs/{run_id}/messages",
    summary="A run's messages",
    tags=["messages"],
    responses=_doc(404),
)
async def list_messages(
    request: Request,
    run_id: RunId,
    sent: Annotated[bool, Query(description="Messages the run sent, not received.")] = False,
    limit: Limit = 200,
) -> list[MessageOut]:
    """Messages sent to the run (or by it), oldest first."""
    found = await run_in_threadpool(
        service.list_messages, run_id, sent=sent, limit=limit, hst=_host(request)
    )
    return [MessageOut.of(m) for m in found]


@router.get("/inputs", summary="Open input waits (the inbox)", tags=["inputs"], responses=_doc(404))
async def list_inputs(
    request: Request,
    limit: Limit = 50,
    offset: Offset = 0,
    run_id: Annotated[str | None, Query(max_length=100, description="Only this run.")] = None,
) -> Page[InputOut]:
    """Open input waits across runs, oldest first, each with the form it asks for."""
    items = await run_in_threadpool(
        service.list_inbox, run_id, limit=limit + 1, offset=offset, hst=_host(request)
    )
    return Page[InputOut](**_page([InputOut.of_item(i) for i in items], limit, offset))


@router.get("/inputs/{wait_id}", summary="One input wait", tags=["inputs"], responses=_doc(404))
async def get_input(request: Request, wait_id: WaitId) -> InputOut:
    """The wait, open or closed, with its form and (once closed) its answer."""
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=_host(request))
    return InputOut.of_item(item)


@router.post(
    "/inputs/{wait_id}/answer",
    summary="Answer an input wait",
    tags=["inputs"],
    responses=_doc(400, 404, 409),
)
async def answer_input(request: Request, wait_id: WaitId, body: AnswerIn) -> AnswerOut:
    """Validates the answer against the wait's input model; the first valid answer wins."""
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=_host(request))
    return await _answer(request, item.run.id, body, wait_id=wait_id)


@router.get("/deployments", summary="List deployments", tags=["deployments"])
async def list_deployments(
    request: Request, limit: Limit = 50, offset: Offset = 0
) -> Page[DeploymentOut]:
    """Deployments by name."""
    found = await run_in_threadpool(
        service.list_deployments, limit=limit + 1, offset=offset, hst=_host(request)
    )
    return Page[DeploymentOut](**_page([DeploymentOut.of(d) for d in found], limit, offset))


DeploymentName = Annotated[
    str, Path(min_length=1, max_length=300, description="`flow-name/deployment`.")
]
Slug = Annotated[str, Path(min_length=1, max_length=200, description="`schedule-1`, ...")]

# Before `/deployments/{name:path}`, which would take these paths as names.


@router.get(
    "/deployments/{name:path}/schedules",
    summary="A deployment's schedules",
    tags=["deployments"],
    responses=_doc(404),
)
async def list_schedules(request: Request, name: DeploymentName) -> list[ScheduleOut]:
    """Its schedules by slug, active or paused."""
    found = await run_in_threadpool(service.list_schedules, name, hst=_host(request))
    return [ScheduleOut.of(s) for s in found]


@router.patch(
    "/deployments/{name:path}/schedules/{slug}",
    summary="Pause or resume a schedule",
    tags=["deployments"],
    responses=_doc(400, 404),
)
async def update_schedule(
    request: Request, name: DeploymentName, slug: Slug, body: ScheduleActiveIn
) -> ScheduleOut:
    """Pausing deletes the runs it made that are not due yet; resuming makes runs from now on."""
    [changed] = await run_in_threadpool(
        service.set_schedule_active, name, slug, body.active, hst=_host(request)
    )
    return ScheduleOut.of(changed)


@router.get(
    "/deployments/{name:path}/upcoming",
    summary="A deployment's upcoming scheduled runs",
    tags=["deployments"],
    responses=_doc(404),
)
async def upcoming_runs(
    request: Request, name: DeploymentName, limit: Limit = 50
) -> list[UpcomingRunOut]:
    """The runs its schedules made ahead (Scheduled), earliest first."""
    found = await run_in_threadpool(service.upcoming_runs, name, limit=limit, hst=_host(request))
    return [UpcomingRunOut.of(slot, run) for slot, run in found]


@router.get(
    "/deployments/{name:path}",
    summary="One deployment",
    tags=["deployments"],
    responses=_doc(404),
)
async def get_deployment(
    request: Request, name: Annotated[str, Path(min_length=1, max_length=300)]
) -> DeploymentOut:
    """The deployment named `flow-name/deployment`."""
    found = await run_in_threadpool(service.get_deployment, name, hst=_host(request))
    return DeploymentOut.of(found)
