"""The deployment pages: the list, one deployment, its Run form, its schedules' buttons.

A deployment's page shows where its runs go (work pool and queue, with its
concurrency limit and collision strategy), its schedules (each with Pause or
Resume), the runs they made ahead, its own recent runs and the Run form.

The Run form is generated from the flow's parameter schema by the same code as the
answer forms (`tarry.forms.fields`, `_form_fields.html`), with the deployment's
defaults filled in. The server checks the parameters against the flow before it
creates anything: a bad one shows the form again with the reason next to its field
(422), and no run is made.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from tarry import errors, safe_markdown, schedules, service
from tarry.forms import fields as forms
from tarry.states import RunState
from tarry.storage import records
from tarry.web import answer_form, auth, login, pages
from tarry.web.schemas import duration

__all__ = ["deployment_page", "deployments_page", "router", "set_schedule", "start_run"]

_RECENT_RUNS = 20
_UPCOMING_RUNS = 10

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

NamePart = Annotated[str, PathParam(min_length=1, max_length=200)]
"""One half of a deployment's name, `flow-name/deployment-name`."""


@router.get("/deployments")
async def deployments_page(
    request: Request, limit: pages.Limit = 50, offset: pages.Offset = 0
) -> Response:
    """Every deployment, by name, each with a Run button."""
    found = await run_in_threadpool(
        service.list_deployments, limit=limit + 1, offset=offset, hst=pages.host_of(request)
    )
    context = {
        "section": "deployments",
        "deployments": found[:limit],
        "page_links": pages.pager(request, limit, offset, len(found)),
    }
    return pages.render(request, "deployments.html", context)


@router.get("/deployments/{flow}/{name}")
async def deployment_page(request: Request, flow: NamePart, name: NamePart) -> Response:
    """One deployment: what it runs, its defaults, its recent runs and the Run form."""
    deployment = await _deployment(request, f"{flow}/{name}")
    return await _page(request, deployment)


@router.post("/deployments/{flow}/{name}/run")
async def start_run(request: Request, flow: NamePart, name: NamePart) -> Response:
    """Start a run with the submitted parameters, or show the form again with what to fix."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    deployment = await _deployment(request, f"{flow}/{name}")
    data = forms.answer_from_form(_spec(deployment), pages.form_lists(form))
    try:
        run = await run_in_threadpool(
            service.start_run, deployment.name, data, hst=pages.host_of(request)
        )
    except (errors.ParameterError, errors.InputInvalid) as exc:
        return await _page(request, deployment, submitted=form, refused=exc)
    started = pages.Flash("ok", f"Run {run.name} started.")
    return pages.redirect(f"/runs/{pages.url_quote(run.id)}", started)


@router.post("/deployments/{flow}/{name}/schedules/{slug}/{action}")
async def set_schedule(
    request: Request, flow: NamePart, name: NamePart, slug: NamePart, action: NamePart
) -> Response:
    """Pause or resume one schedule of the deployment."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    if action not in ("pause", "resume"):
        return pages.error_page(request, 404, f"no schedule action {action!r}")
    deployment = f"{flow}/{name}"
    hst = pages.host_of(request)
    await run_in_threadpool(
        service.set_schedule_active, deployment, slug, action == "resume", hst=hst
    )
    done = "paused: its runs not due yet are removed" if action == "pause" else "resumed"
    back = f"/deployments/{pages.url_quote(flow)}/{pages.url_quote(name)}"
    return pages.redirect(back, pages.Flash("ok", f"Schedule {slug} {done}."))


async def _deployment(request: Request, name: str) -> records.DeploymentRecord:
    return await run_in_threadpool(service.get_deployment, name, hst=pages.host_of(request))


async def _page(
    request: Request,
    deployment: records.DeploymentRecord,
    *,
    submitted: FormData | None = None,
    refused: errors.ParameterError | errors.InputInvalid | None = None,
) -> Response:
    hst = pages.host_of(request)
    runs = await run_in_threadpool(hst.store.list_runs, _runs_of(deployment.name))
    found = await run_in_threadpool(service.list_schedules, deployment.name, hst=hst)
    upcoming = await run_in_threadpool(
        service.upcoming_runs, deployment.name, limit=_UPCOMING_RUNS, hst=hst
    )
    now = time.time()
    context = {
        "section": "deployments",
        "deployment": deployment,
        "description": safe_markdown.render_markdown(deployment.description or None),
        "defaults": json.loads(deployment.parameters),
        "form": _form(deployment, submitted, refused),
        "id_prefix": "run",
        "runs": [(run, duration(run, now)) for run in runs],
        "schedules": [(s, schedules.describe(schedules.from_json(s.schedule))) for s in found],
        "upcoming": upcoming,
        "any_active": any(s.active for s in found),
    }
    return pages.render(request, "deployment.html", context, status=422 if refused else 200)


def _runs_of(name: str) -> records.RunFilter:
    """Its recent runs; the Scheduled ones are shown under "Upcoming runs"."""
    started = [state for state in RunState if state is not RunState.SCHEDULED]
    return records.RunFilter(states=started, deployment=name, limit=_RECENT_RUNS)


def _form(
    deployment: records.DeploymentRecord,
    submitted: FormData | None,
    refused: errors.ParameterError | errors.InputInvalid | None,
) -> dict[str, Any]:
    field_errors = refused.field_errors if refused is not None else []
    context = answer_form.fields_context(_spec(deployment), submitted, field_errors)
    if refused is not None and not field_errors:
        context["general_errors"] = [str(refused)]
    return context


def _spec(deployment: records.DeploymentRecord) -> dict[str, Any]:
    """The flow's parameters as a form spec: its schema, the deployment's defaults filled in."""
    return {
        "schema": json.loads(deployment.parameter_schema),
        "initial": json.loads(deployment.parameters),
    }
