"""The run pages: the run list, one run with its step timeline, and the run actions.

Retry continues a Failed or Crashed run from its journal; Rerun starts a new run with
the same parameters and shows it.

Cancel, suspend and resume are forms that answer with a redirect to the run and a
flash message saying what happened (or why it could not).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tarry import errors, host, service
from tarry.forms import fields as forms
from tarry.states import RETRYABLE, RunState, StepKind, WaitKind, WaitStatus
from tarry.storage import UNSET, records
from tarry.web import answer_form, auth, formatting, login, pages
from tarry.web.schemas import duration

__all__ = [
    "RunId",
    "StepRow",
    "Timeline",
    "cancel",
    "rerun",
    "resume",
    "retry",
    "router",
    "run_page",
    "runs_page",
    "suspend",
]

_MAX_LOG_LINES = 2000

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

RunId = Annotated[str, PathParam(min_length=1, max_length=100)]
"""A run's id in a page's path."""


@router.get("/runs")
async def runs_page(
    request: Request,
    state: Annotated[list[RunState] | None, Query()] = None,
    flow: Annotated[str, Query(max_length=200)] = "",
    limit: pages.Limit = 50,
    offset: pages.Offset = 0,
) -> Response:
    """Runs, newest first, filtered by state and flow name."""
    chosen = state or []
    found = await run_in_threadpool(
        service.list_runs,
        states=chosen,
        flow_name=flow.strip() or None,
        parent_id=UNSET,
        limit=limit + 1,
        offset=offset,
        hst=pages.host_of(request),
    )
    now = time.time()
    context = {
        "section": "runs",
        "runs": [(run, duration(run, now)) for run in found[:limit]],
        "states": list(RunState),
        "chosen": {s.value for s in chosen},
        "flow": flow,
        "page_links": pages.pager(request, limit, offset, len(found)),
        "refresh": pages.path_with_query(request),
    }
    return pages.render(request, "runs.html", context)


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: RunId) -> Response:
    """One run: its state, waits, step timeline, child runs, transitions and logs."""
    detail = await run_in_threadpool(service.get_run_detail, run_id, hst=pages.host_of(request))
    return pages.render(request, "run.html", _run_context(request, detail))


def _run_context(request: Request, detail: service.RunDetail) -> dict[str, Any]:
    run, now = detail.run, time.time()
    open_inputs = [
        w for w in detail.waits if w.kind is WaitKind.INPUT and w.status is WaitStatus.OPEN
    ]
    inline = next((w for w in open_inputs if w.spec is not None), None)
    return {
        "section": "runs",
        "run": run,
        "duration": duration(run, now),
        "error": _error_of(run.error),
        "timeline": _timeline(detail, now),
        "open_inputs": open_inputs,
        "timers": [
            w for w in detail.waits if w.kind is WaitKind.TIMER and w.status is WaitStatus.OPEN
        ],
        "closed_inputs": [
            w for w in detail.waits if w.kind is WaitKind.INPUT and w.status is not WaitStatus.OPEN
        ],
        "inline": answer_form.form_context(inline, detail.run) if inline is not None else None,
        "resumable": [w for w in open_inputs if _resumable(w)],
        "can_cancel": not run.state.is_final,
        "can_retry": run.state in RETRYABLE and run.parent_id is None,
        "can_rerun": run.state.is_final and run.parent_id is None,
        "can_suspend": run.state is RunState.WAITING and run.lease_owner is not None,
        "children": [(c, duration(c, now)) for c in detail.children],
        "transitions": detail.transitions,
        "messages": sorted(
            [("received", m) for m in detail.messages_in]
            + [("sent", m) for m in detail.messages_out],
            key=lambda pair: pair[1].sent_at,
        ),
        "outbox": detail.outbox,
        "logs": detail.logs[-_MAX_LOG_LINES:],
        "hidden_logs": max(0, len(detail.logs) - _MAX_LOG_LINES),
        "refresh": request.url.path,
    }


def _error_of(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return {"summary": text, "traceback": ""}
    if not isinstance(data, dict):
        return {"summary": formatting.pretty(text), "traceback": ""}
    summary = f"{data.get('type', 'Error')}: {data.get('message', '')}"
    return {"summary": summary, "traceback": str(data.get("traceback") or "")}


def _resumable(wait: records.WaitRecord) -> bool:
    """Whether "Resume" can answer the wait: it takes no input, or its initial data is complete."""
    if wait.spec is None:
        return True
    fields = forms.form_fields(json.loads(wait.spec))
    return all(f.initial or not f.required for f in fields)


# -- timeline ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StepRow:
    """One journal entry on the timeline."""

    step: records.StepRecord
    """The entry."""
    depth: int
    """How deep it is nested (`"3.1"` is 1)."""
    x: float
    """Where its bar starts, on a 0-1000 axis."""
    width: float
    """How long its bar is, on the same axis."""
    seconds: float
    """How long it took."""
    preview: str
    """Its result (or error) in one short line."""
    full: str
    """Its result (or error), indented, when the preview is cut short."""


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The run's steps on one time axis."""

    rows: list[StepRow]
    """The steps, in journal order."""
    span: float
    """Seconds the axis covers."""


def _timeline(detail: service.RunDetail, now: float) -> Timeline:
    steps, run = detail.steps, detail.run
    origin = min([s.started_at for s in steps] + [run.started_at or run.created_at])
    # The axis ends with the run, or with its last step while it goes on (a run
    # waiting for days would otherwise squeeze every bar against the left edge).
    ends = [s.ended_at for s in steps] or [now]
    if run.ended_at is not None:
        ends.append(run.ended_at)
    span = max(max(ends) - origin, 1e-3)
    rows = [_step_row(s, origin, span) for s in steps]
    return Timeline(rows=rows, span=span)


def _step_row(step: records.StepRecord, origin: float, span: float) -> StepRow:
    seconds = max(0.0, step.ended_at - step.started_at)
    x = (step.started_at - origin) / span * 1000
    width = max(seconds / span * 1000, 3.0)
    shown = _step_value(step)
    full = formatting.pretty(json.dumps(shown, ensure_ascii=False)) if shown is not None else ""
    preview = formatting.preview(shown) if shown is not None else ""
    return StepRow(
        step=step,
        depth=min(step.key.count("."), 4),
        x=round(min(x, 997.0), 2),
        width=round(min(width, 1000 - x), 2),
        seconds=seconds,
        preview=preview,
        full=full if preview.endswith("…") or "\n" in full else "",
    )


def _step_value(step: records.StepRecord) -> Any:
    if step.error is not None:
        error = _error_of(step.error)
        return error["summary"] if error else None
    if step.result is None:
        return None
    try:
        value = json.loads(step.result)
    except ValueError:
        return step.result
    if step.kind is StepKind.WAIT and isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


# -- actions -------------------------------------------------------------------------


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: RunId) -> Response:
    """Cancel the run (and its child runs)."""
    return await _act(request, run_id, "cancel")


@router.post("/runs/{run_id}/retry")
async def retry(request: Request, run_id: RunId) -> Response:
    """Continue the failed run from its journal."""
    return await _act(request, run_id, "retry")


@router.post("/runs/{run_id}/rerun")
async def rerun(request: Request, run_id: RunId) -> Response:
    """Start a new run with the same parameters, and show it."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    hst = pages.host_of(request)
    fresh = await run_in_threadpool(service.rerun, run_id, hst=hst)
    done = pages.Flash("ok", "A new run with the same parameters has started.")
    return pages.redirect(f"/runs/{pages.url_quote(fresh.id)}", done)


@router.post("/runs/{run_id}/suspend")
async def suspend(request: Request, run_id: RunId) -> Response:
    """Take the waiting run out of memory."""
    return await _act(request, run_id, "suspend")


@router.post("/runs/{run_id}/resume")
async def resume(request: Request, run_id: RunId) -> Response:
    """Resume the run's wait: without input, or with the form's initial data."""
    return await _act(request, run_id, "resume")


async def _act(request: Request, run_id: str, action: str) -> Response:
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    hst = pages.host_of(request)
    run = await run_in_threadpool(service.get_run, run_id, hst=hst)
    back = f"/runs/{pages.url_quote(run.id)}"
    try:
        done = await run_in_threadpool(_do, hst, run, action, pages.form_text(form, "wait_id"))
    except (errors.InputError, errors.RunEnded, errors.InvalidTransition) as exc:
        return pages.redirect(back, pages.Flash("error", f"Could not {action} this run: {exc}"))
    return pages.redirect(back, pages.Flash("ok", done))


def _do(hst: host.Host, run: records.RunRecord, action: str, wait_id: str | None) -> str:
    if action == "cancel":
        service.cancel_run(run.id, by="the web UI", hst=hst)
        return "Run cancelled."
    if action == "retry":
        service.retry_run(run.id, by="the web UI", hst=hst)
        return "Run retried: it continues from its journal, its finished steps kept."
    if action == "suspend":
        after = service.suspend_run(run.id, hst=hst)
        if after.lease_owner is None:
            return "Run suspended: it holds no thread until its wait ends."
        return "Asked the run to suspend; it is still leaving memory."
    service.submit_input(run.id, None, wait_id=wait_id or None, channel="ui", hst=hst)
    return "Run resumed."
