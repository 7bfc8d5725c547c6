"""The approval service's web API (the Durable Task sample's `client.py`), on tarry's client.

A small FastAPI app that talks to a running `tarry server` with tarry's public
`AsyncClient` (the server at `TARRY_API_URL`, or `--api-url`):

* `POST /api/requests` `{"requester", "item", "timeout_hours"}` starts a run of the
  `approval-workflow/workflow` deployment; the run's id is the request's id;
* `GET /api/requests/{id}`: `pending`, `approved`, `rejected` or `timeout` (with the
  workflow's result once it is done);
* `POST /api/approvals/{id}` `{"is_approved", "approver", "comments"}` answers the
  run's `approval` input. The first answer wins: once decided (or timed out) a request
  refuses answers with 409. An invalid body gets 422 with one error per field, and
  the request keeps waiting.

The app holds no state and needs no flow code: tarry keeps the requests, and its
server checks each answer again against the form stored with the wait.

    python examples/approval_service/app.py [--port 8000] [--api-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tarry import errors
from tarry.client import AsyncClient
from tarry.states import RunState
from tarry.web import schemas

DEPLOYMENT = "approval-workflow/workflow"
"""The workflow's deployment, as `tarry server --deploy .../workflow.py:approval_workflow`
and `python workflow.py` name it."""

APPROVAL = "approval"
"""The name of the input the workflow waits for."""

_ENTRYPOINT = "examples/approval_service/workflow.py:approval_workflow"


# -- the API's bodies ------------------------------------------------------------------------


class NewRequest(BaseModel):
    """A request for approval."""

    requester: str = Field(min_length=1, max_length=100, description="Who asks.")
    item: str = Field(min_length=1, max_length=200, description="What for.")
    timeout_hours: float = Field(24.0, gt=0, le=24 * 366, description="Hours to wait.")


class Approval(BaseModel):
    """An approver's decision (the workflow's `ApprovalResponse`)."""

    is_approved: bool = Field(description="True approves, false rejects.")
    approver: str = Field(min_length=1, max_length=100, description="Who decides.")
    comments: str = Field("", max_length=1000, description="Why, for the requester.")


class RequestCreated(BaseModel):
    """A request that was started."""

    request_id: str
    status: str = "pending"
    approval_url: str = Field(description="POST the decision here.")
    status_url: str = Field(description="GET the request's status here.")


class RequestStatus(BaseModel):
    """Where a request is."""

    request_id: str
    status: str = Field(description="pending, approved, rejected, timeout, failed or cancelled.")
    run_state: RunState = Field(description="The state of the request's tarry run.")
    requester: str | None
    item: str | None
    timeout_hours: float | None
    result: dict[str, Any] | None = Field(description="The workflow's result, once done.")


class ApprovalSent(BaseModel):
    """An answer the request took."""

    request_id: str
    message: str


# -- reading tarry's runs --------------------------------------------------------------------


def status_of(run: schemas.RunOut) -> str:
    """The request's status, from its run."""
    if run.state is RunState.COMPLETED and isinstance(run.result, dict):
        return str(run.result.get("status", "completed"))
    if run.state is RunState.CANCELLED:
        return "cancelled"
    return "failed" if run.state.is_final else "pending"


def request_status(run: schemas.RunOut) -> RequestStatus:
    """The API's view of a request's run."""
    params = run.parameters if isinstance(run.parameters, dict) else {}
    done = run.state is RunState.COMPLETED and isinstance(run.result, dict)
    return RequestStatus(
        request_id=run.id,
        status=status_of(run),
        run_state=run.state,
        requester=params.get("requester"),
        item=params.get("item"),
        timeout_hours=params.get("timeout_hours"),
        result=run.result if done else None,
    )


async def read_request(client: AsyncClient, deployment: str, request_id: str) -> schemas.RunOut:
    """The run of request `request_id`.

    Raises:
        HTTPException: 404 when no run of the workflow has exactly this id.
    """
    flow_name = deployment.partition("/")[0]
    try:
        run = await client.read_flow_run(request_id)
    except errors.RunNotFound:
        run = None
    # The API takes unique id prefixes too; a request is named by its full id only.
    if run is None or run.id != request_id or run.flow_name != flow_name:
        raise HTTPException(404, f"no approval request {request_id}")
    return run


# -- routes ----------------------------------------------------------------------------------


def tarry_client(request: Request) -> AsyncClient:
    """The app's client of the tarry server."""
    client: AsyncClient = request.app.state.tarry
    return client


TarryClient = Annotated[AsyncClient, Depends(tarry_client)]
"""The app's client of the tarry server, as a route parameter."""


async def create_request(body: NewRequest, request: Request, client: TarryClient) -> RequestCreated:
    """Start an approval workflow for the request."""
    run = await client.create_flow_run_from_deployment(
        request.app.state.deployment, body.model_dump()
    )
    return RequestCreated(
        request_id=run.id,
        approval_url=str(request.url_for("answer_request", request_id=run.id)),
        status_url=str(request.url_for("get_request", request_id=run.id)),
    )


async def get_request(request_id: str, request: Request, client: TarryClient) -> RequestStatus:
    """Where the request is, with the workflow's result once it is done."""
    run = await read_request(client, request.app.state.deployment, request_id)
    return request_status(run)


async def answer_request(
    request_id: str, body: Approval, request: Request, client: TarryClient
) -> ApprovalSent:
    """Send the approver's decision to the request's workflow; the first one wins."""
    run = await read_request(client, request.app.state.deployment, request_id)
    if run.state.is_final:
        raise HTTPException(409, f"request {request_id} is already decided: {status_of(run)}")
    sent = await client.resume_flow_run(
        run.id, body.model_dump(), key=APPROVAL, responder=body.approver
    )
    if sent.kept_for_later:
        return ApprovalSent(request_id=run.id, message="decision kept until the request asks")
    return ApprovalSent(request_id=run.id, message="decision sent")


# -- errors: never a 500 ---------------------------------------------------------------------


def _error(status: int, detail: str, field_errors: Sequence[dict[str, Any]] = ()) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": list(field_errors)}, status_code=status)


_STATUS_OF: tuple[tuple[type[errors.TarryError], int], ...] = (
    (errors.DeploymentNotFound, 503),  # the server runs without the workflow
    (errors.NotFound, 404),
    (errors.InputInvalid, 422),
    (errors.ParameterError, 422),
    (errors.InputError, 409),  # already answered, not waiting
    (errors.RunEnded, 409),
    (errors.ConfigurationError, 503),  # no tarry server at the URL
)


async def on_tarry_error(_request: Request, exc: Exception) -> JSONResponse:
    """A refusal of the tarry server, as this API's error."""
    status = next((code for kind, code in _STATUS_OF if isinstance(exc, kind)), 502)
    found = exc.field_errors if isinstance(exc, errors.InputInvalid) else []
    fields = [{"loc": list(e.loc), "msg": e.message, "type": e.type} for e in found]
    detail = str(exc)
    if isinstance(exc, errors.DeploymentNotFound):
        detail += f"; start the server with --deploy {_ENTRYPOINT} (or run workflow.py)"
    return _error(status, detail, fields)


async def on_invalid_body(_request: Request, exc: Exception) -> JSONResponse:
    """An invalid request body: 422 with one error per field, as the tarry API says it."""
    found = exc.errors() if isinstance(exc, RequestValidationError) else []
    fields = [{"loc": _field_loc(e), "msg": e["msg"], "type": e["type"]} for e in found]
    summary = "; ".join(f"{'.'.join(map(str, f['loc'])) or 'body'}: {f['msg']}" for f in fields)
    return _error(422, f"invalid request: {summary}", fields)


def _field_loc(error: dict[str, Any]) -> list[str | int]:
    # FastAPI puts "body" first; the field is what follows. A body that is not JSON
    # has no field (FastAPI gives the position of the error instead).
    loc = list(error["loc"])
    if error["type"] == "json_invalid":
        return []
    return loc[1:] if loc[:1] == ["body"] else loc


async def on_transport_error(_request: Request, exc: Exception) -> JSONResponse:
    """The tarry server did not answer in time, or dropped the connection."""
    return _error(503, f"the tarry server did not answer: {type(exc).__name__}")


# -- the app ---------------------------------------------------------------------------------


def create_app(api_url: str | None = None, deployment: str = DEPLOYMENT) -> FastAPI:
    """The approval service.

    Args:
        api_url: The tarry server's API; `TARRY_API_URL` (or the local default) when omitted.
        deployment: The workflow's deployment.

    Returns:
        The FastAPI app.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncClient(api_url) as client:
            app.state.tarry = client
            yield

    app = FastAPI(title="Approval service", lifespan=lifespan)
    app.state.deployment = deployment
    app.post("/api/requests", status_code=201)(create_request)
    app.get("/api/requests/{request_id}")(get_request)
    app.post("/api/approvals/{request_id}")(answer_request)
    app.add_exception_handler(errors.TarryError, on_tarry_error)
    app.add_exception_handler(RequestValidationError, on_invalid_body)
    app.add_exception_handler(httpx.TransportError, on_transport_error)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the app: `--host`, `--port`, `--api-url`, `--deployment`."""
    parser = argparse.ArgumentParser(description="The approval service's web API.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--api-url", help="the tarry server's API (default: TARRY_API_URL)")
    parser.add_argument("--deployment", default=DEPLOYMENT, help="the workflow's deployment")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.api_url, args.deployment), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
