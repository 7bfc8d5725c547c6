"""The web UI: server-rendered pages for runs, the inbox and answer forms.

Every page works without JavaScript; htmx only refreshes lists and run pages in
place. Data and actions come from `tarry.service` only, called in a worker
thread (the store is synchronous). Every form carries a CSRF token (see
`tarry.web.auth`), every action answers with a redirect (303) and a flash
message, and errors are pages with a readable reason, never a traceback.

Everything shown is escaped by Jinja2, except markdown descriptions, which are
rendered with raw HTML disabled and only http, https and mailto links.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import jinja2
import markupsafe
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from markdown_it import MarkdownIt
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tarry import errors, host, service
from tarry.states import RunState, StepKind, WaitKind, WaitStatus
from tarry.storage import UNSET, base
from tarry.web import auth, forms
from tarry.web.schemas import duration

__all__ = ["error_page", "install", "render_markdown", "router"]

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every UI page: no inline scripts or styles, no framing."""

FLASH_COOKIE = "tarry_flash"
RESPONDER_FIELD = "responder"
"""The name of the form's "Your name" field..."""
RESPONDER_FALLBACK = "_responder"
"""...unless the input has a field of that name (no model field starts with `_`)."""

_MAX_FLASH = 600
_MAX_RESPONDER = 200
_PREVIEW = 120
_MAX_LOG_LINES = 2000
_LINK_SCHEMES = re.compile(r"\s*(https?|mailto):", re.IGNORECASE)

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


# -- formatting ----------------------------------------------------------------------


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def _seconds(value: float | None) -> str:
    """A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`, `3 d 4 h`."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    whole = int(value)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def _pretty(text: str | None) -> str:
    """Stored JSON, indented for reading (the text as it is when it is not JSON)."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")


def _first_line(markdown: str | None) -> str:
    """The first line of a markdown text, as plain text (for previews)."""
    for line in (markdown or "").splitlines():
        plain = line.strip().lstrip("#>*- ").strip()
        if plain:
            return _EMPHASIS.sub(r"\2", plain)
    return ""


_env.filters.update(
    when=_when,
    iso=_iso,
    seconds=_seconds,
    pretty=_pretty,
    short=lambda run_id: str(run_id)[:8],
    level=logging.getLevelName,
    first_line=_first_line,
    preview_json=lambda text: _preview(json.loads(text)) if text else "",
)


class _SafeMarkdown(MarkdownIt):
    """CommonMark without raw HTML, and links only to http, https and mailto."""

    def validateLink(self, url: str) -> bool:
        """Refuse every link that is not http, https or mailto (relative ones too)."""
        return bool(_LINK_SCHEMES.match(url))


_markdown = _SafeMarkdown("commonmark", {"html": False})
_markdown.disable("image")


def render_markdown(text: str | None) -> markupsafe.Markup:
    """A wait's markdown description as safe HTML (raw HTML in it is shown as text).

    Args:
        text: The markdown, written by the flow's author (or anyone who starts runs).

    Returns:
        HTML that can be put in a page as it is.
    """
    if not text:
        return markupsafe.Markup("")
    tokens = _markdown.parse(text)
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open":
                child.attrSet("rel", "nofollow noopener noreferrer")
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return markupsafe.Markup(html)  # noqa: S704 - markdown-it escaped it; raw HTML is off


# -- responses -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Flash:
    """A one-time message shown on the page after a redirect."""

    kind: str
    """`ok` or `error`."""
    text: str
    """What happened."""


def _read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return Flash(kind="error" if data["kind"] == "error" else "ok", text=str(data["text"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _redirect(url: str, flash: Flash | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
    if flash is not None:
        data = json.dumps({"kind": flash.kind, "text": flash.text[:_MAX_FLASH]})
        value = base64.urlsafe_b64encode(data.encode()).decode()
        response.set_cookie(
            FLASH_COOKIE, value, max_age=120, httponly=True, samesite="strict", path="/"
        )
    return response


def _render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    flash = _read_flash(request)
    values = {
        "request": request,
        "section": "",
        "flash": flash,
        "csrf": auth.csrf_token(request),
        "csrf_field": auth.CSRF_FIELD,
        "login_enabled": bool(_host(request).settings.api_token),
        **context,
    }
    html = _env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    auth.set_csrf_cookie(request, response)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    return response


_REASONS = {
    400: "Bad request",
    401: "Login needed",
    403: "Forbidden",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "Invalid request",
    500: "Server error",
}


def error_page(request: Request, status: int, detail: str) -> Response:
    """An error as a page: the status and the reason, in words.

    Args:
        request: The request that failed.
        status: The HTTP status to answer with.
        detail: Why, in one sentence.
    """
    title = _REASONS.get(status, "Error")
    context = {"status": status, "title": title, "detail": detail}
    return _render(request, "error.html", context, status=status)


def _host(request: Request) -> host.Host:
    found: host.Host = request.app.state.host
    return found


def _path_with_query(request: Request, **changes: str | int | None) -> str:
    """This page's path and query, with `changes` applied (`None` removes a parameter)."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items() if v is not None]
    query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
    return request.url.path + (f"?{query}" if query else "")


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


@dataclasses.dataclass(frozen=True)
class Pager:
    """Newer/Older links of a list page."""

    newer: str | None
    """Link to the previous page, if any."""
    older: str | None
    """Link to the next page, if any."""
    first: int
    """1-based position of the first item shown."""
    last: int
    """Position of the last item shown."""


def _pager(request: Request, limit: int, offset: int, found: int) -> Pager:
    # One more item than shown was read: it only says whether an older page exists.
    newer = _path_with_query(request, offset=max(0, offset - limit) or None) if offset else None
    older = _path_with_query(request, offset=offset + limit) if found > limit else None
    shown = min(found, limit)
    return Pager(newer=newer, older=older, first=offset + 1 if shown else 0, last=offset + shown)


# -- login -----------------------------------------------------------------------------


class _LoginRequired(Exception):
    """The UI needs the API token and this browser has not given it."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _require_login(request: Request) -> None:
    token = _host(request).settings.api_token
    if not auth.is_authenticated(request, token):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise _LoginRequired(wanted if request.method == "GET" else "/")


async def _to_login(_request: Request, exc: Exception) -> Response:
    wanted = exc.next_path if isinstance(exc, _LoginRequired) else "/"
    return _redirect(f"/login?next={_quote(_safe_next(wanted))}")


def _safe_next(path: str | None) -> str:
    """A path on this site to go to after login; anything else becomes `/`."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    if any(ch in path for ch in "\\\r\n\t") or ":" in path.split("?", 1)[0]:
        return "/"
    return path


login_router = APIRouter(include_in_schema=False)


@login_router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    """The token form (or `/` when the server needs no token)."""
    if not _host(request).settings.api_token:
        return _redirect("/")
    context = {"section": "login", "next": _safe_next(next), "error": None}
    return _render(request, "login.html", context)


@login_router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success set the login cookie and go where the user wanted."""
    token = _host(request).settings.api_token
    if not token:
        return _redirect("/")
    form = await request.form()
    if not auth.csrf_valid(request, _text(form, auth.CSRF_FIELD)):
        return _csrf_failed(request)
    wanted = _safe_next(_text(form, "next"))
    given = _text(form, "token") or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        error = "That token is not right. Try again."
        context = {"section": "login", "next": wanted, "error": error}
        return _render(request, "login.html", context, status=401)
    response = _redirect(wanted)
    auth.set_session_cookie(response, token)
    return response


@login_router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the login cookie."""
    form = await request.form()
    if not auth.csrf_valid(request, _text(form, auth.CSRF_FIELD)):
        return _csrf_failed(request)
    response = _redirect("/login")
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _csrf_failed(request: Request) -> Response:
    detail = (
        "This form expired or was sent from another site, so nothing was changed. "
        "Go back, reload the page and try again."
    )
    return error_page(request, 403, detail)


# -- pages -----------------------------------------------------------------------------

router = APIRouter(include_in_schema=False, dependencies=[Depends(_require_login)])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
RunId = Annotated[str, PathParam(min_length=1, max_length=100)]
WaitId = Annotated[str, PathParam(min_length=1, max_length=100)]


@router.get("/")
async def home(request: Request) -> Response:
    """The inbox when someone's answer is awaited, else the run list."""
    waiting = await run_in_threadpool(service.list_pending_inputs, limit=1, hst=_host(request))
    return _redirect("/inbox" if waiting else "/runs")


@router.get("/runs")
async def runs_page(
    request: Request,
    state: Annotated[list[RunState] | None, Query()] = None,
    flow: Annotated[str, Query(max_length=200)] = "",
    limit: Limit = 50,
    offset: Offset = 0,
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
        hst=_host(request),
    )
    now = time.time()
    context = {
        "section": "runs",
        "runs": [(run, duration(run, now)) for run in found[:limit]],
        "states": list(RunState),
        "chosen": {s.value for s in chosen},
        "flow": flow,
        "page_links": _pager(request, limit, offset, len(found)),
        "refresh": _path_with_query(request),
    }
    return _render(request, "runs.html", context)


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: RunId) -> Response:
    """One run: its state, waits, step timeline, child runs, transitions and logs."""
    detail = await run_in_threadpool(service.get_run_detail, run_id, hst=_host(request))
    return _render(request, "run.html", _run_context(request, detail))


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
        "inline": _form_context(inline, detail.run) if inline is not None else None,
        "resumable": [w for w in open_inputs if _resumable(w)],
        "can_cancel": not run.state.is_final,
        "can_suspend": run.state is RunState.WAITING and run.lease_owner is not None,
        "children": [(c, duration(c, now)) for c in detail.children],
        "transitions": detail.transitions,
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
        return {"summary": _pretty(text), "traceback": ""}
    summary = f"{data.get('type', 'Error')}: {data.get('message', '')}"
    return {"summary": summary, "traceback": str(data.get("traceback") or "")}


def _resumable(wait: base.WaitRecord) -> bool:
    """Whether "Resume" can answer the wait: it takes no input, or its initial data is complete."""
    if wait.spec is None:
        return True
    fields = forms.form_fields(json.loads(wait.spec))
    return all(f.initial or not f.required for f in fields)


@dataclasses.dataclass(frozen=True)
class StepRow:
    """One journal entry on the timeline."""

    step: base.StepRecord
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


def _step_row(step: base.StepRecord, origin: float, span: float) -> StepRow:
    seconds = max(0.0, step.ended_at - step.started_at)
    x = (step.started_at - origin) / span * 1000
    width = max(seconds / span * 1000, 3.0)
    shown = _step_value(step)
    full = _pretty(json.dumps(shown, ensure_ascii=False)) if shown is not None else ""
    preview = _preview(shown) if shown is not None else ""
    return StepRow(
        step=step,
        depth=min(step.key.count("."), 4),
        x=round(min(x, 997.0), 2),
        width=round(min(width, 1000 - x), 2),
        seconds=seconds,
        preview=preview,
        full=full if preview.endswith("…") or "\n" in full else "",
    )


def _step_value(step: base.StepRecord) -> Any:
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


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: RunId) -> Response:
    """Cancel the run (and its child runs)."""
    return await _act(request, run_id, "cancel")


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
    if not auth.csrf_valid(request, _text(form, auth.CSRF_FIELD)):
        return _csrf_failed(request)
    hst = _host(request)
    run = await run_in_threadpool(service.get_run, run_id, hst=hst)
    back = f"/runs/{_quote(run.id)}"
    try:
        done = await run_in_threadpool(_do, hst, run, action, _text(form, "wait_id"))
    except (errors.InputError, errors.RunEnded, errors.InvalidTransition) as exc:
        return _redirect(back, Flash("error", f"Could not {action} this run: {exc}"))
    return _redirect(back, Flash("ok", done))


def _do(hst: host.Host, run: base.RunRecord, action: str, wait_id: str | None) -> str:
    if action == "cancel":
        service.cancel_run(run.id, by="the web UI", hst=hst)
        return "Run cancelled."
    if action == "suspend":
        after = service.suspend_run(run.id, hst=hst)
        if after.lease_owner is None:
            return "Run suspended: it holds no thread until its wait ends."
        return "Asked the run to suspend; it is still leaving memory."
    service.submit_input(run.id, None, wait_id=wait_id or None, channel="ui", hst=hst)
    return "Run resumed."


@router.get("/inbox")
async def inbox_page(request: Request, limit: Limit = 50, offset: Offset = 0) -> Response:
    """Questions waiting for an answer, oldest first."""
    found = await run_in_threadpool(
        service.list_inbox, limit=limit + 1, offset=offset, hst=_host(request)
    )
    context = {
        "section": "inbox",
        "items": found[:limit],
        "page_links": _pager(request, limit, offset, len(found)),
        "refresh": _path_with_query(request),
    }
    return _render(request, "inbox.html", context)


@router.get("/inputs/{wait_id}")
async def input_page(request: Request, wait_id: WaitId) -> Response:
    """The answer form of an open wait, or the answer of a closed one."""
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=_host(request))
    return _input_response(request, item)


def _input_response(
    request: Request,
    item: service.InboxItem,
    *,
    status: int = 200,
    submitted: FormData | None = None,
    field_errors: list[errors.FieldError] | None = None,
    notice: str | None = None,
) -> Response:
    form = _form_context(item.wait, item.run, submitted, field_errors)
    context = {"section": "inbox", "item": item, "form": form, "notice": notice}
    return _render(request, "input.html", context, status=status)


def _form_context(
    wait: base.WaitRecord,
    run: base.RunRecord,
    submitted: FormData | None = None,
    field_errors: list[errors.FieldError] | None = None,
) -> dict[str, Any]:
    """What the answer form partial needs."""
    spec: dict[str, Any] | None = json.loads(wait.spec) if wait.spec else None
    fields = forms.form_fields(spec) if spec is not None else []
    if submitted is not None:
        fields = [_as_submitted(f, submitted) for f in fields]
    by_field, general = _place_errors(fields, field_errors or [])
    responder_field = _responder_field(spec)
    responder = _text(submitted, responder_field) if submitted is not None else None
    return {
        "wait": wait,
        "run": run,
        "description": render_markdown(spec.get("description") if spec else None),
        "has_spec": spec is not None,
        "fields": fields,
        "errors": by_field,
        "general_errors": general,
        "responder": responder or "",
        "responder_field": responder_field,
        "max_responder": _MAX_RESPONDER,
    }


def _responder_field(spec: Mapping[str, Any] | None) -> str:
    properties = ((spec or {}).get("schema") or {}).get("properties") or {}
    return RESPONDER_FALLBACK if RESPONDER_FIELD in properties else RESPONDER_FIELD


def _as_submitted(field: forms.FormField, submitted: FormData) -> forms.FormField:
    values = [v for v in submitted.getlist(field.name) if isinstance(v, str)]
    if field.widget == "checkbox":
        ticked = bool(values) and values[-1].strip().lower() not in {"", "0", "false", "off", "no"}
        return dataclasses.replace(field, initial="true" if ticked else "false")
    return dataclasses.replace(field, initial=values[-1] if values else "")


def _place_errors(
    fields: list[forms.FormField], found: list[errors.FieldError]
) -> tuple[dict[str, list[str]], list[str]]:
    """Each error next to its field (by `loc[0]`); the others for the top of the form."""
    names = {f.name for f in fields}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in found:
        head = str(error.loc[0]) if error.loc else None
        if head in names and head is not None:
            rest = ".".join(str(part) for part in error.loc[1:])
            message = f"{rest}: {error.message}" if rest else error.message
            by_field.setdefault(head, []).append(message)
        else:
            general.append(f"{error.field}: {error.message}" if error.field else error.message)
    return by_field, general


@router.post("/inputs/{wait_id}")
async def answer(request: Request, wait_id: WaitId) -> Response:
    """Validate and submit an answer; re-show the form with field errors when it does not fit."""
    form = await request.form()
    if not auth.csrf_valid(request, _text(form, auth.CSRF_FIELD)):
        return _csrf_failed(request)
    hst = _host(request)
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=hst)
    spec: dict[str, Any] | None = json.loads(item.wait.spec) if item.wait.spec else None
    data = forms.answer_from_form(spec, _lists(form)) if spec is not None else None
    responder = (_text(form, _responder_field(spec)) or "").strip()[:_MAX_RESPONDER] or None
    try:
        await run_in_threadpool(
            service.submit_input,
            item.run.id,
            data,
            wait_id=wait_id,
            responder=responder,
            channel="ui",
            prompt=spec.get("description") if spec else None,
            hst=hst,
        )
    except errors.InputInvalid as exc:
        notice = "The answer was not accepted; correct the fields marked below."
        return _input_response(
            request, item, status=422, submitted=form, field_errors=exc.field_errors, notice=notice
        )
    except (errors.AlreadyAnswered, errors.NotWaiting, errors.RunEnded) as exc:
        return await _too_late(request, wait_id, exc)
    return _redirect(f"/runs/{_quote(item.run.id)}", Flash("ok", "Answer accepted."))


async def _too_late(request: Request, wait_id: str, exc: errors.TarryError) -> Response:
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=_host(request))
    if isinstance(exc, errors.AlreadyAnswered) and item.wait.status is WaitStatus.ANSWERED:
        who = item.wait.responder or "someone"
        notice = f"This question was already answered by {who} at {_when(item.wait.closed_at)} UTC."
    else:
        notice = f"This question can no longer be answered: {exc}"
    return _input_response(request, item, status=409, notice=notice)


def _lists(form: FormData) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


# -- installing ---------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Add the UI's pages to `app` and make its errors pages too.

    Args:
        app: The server application (`tarry.web.app.create_app`).
    """
    app.include_router(login_router)
    app.include_router(router)
    app.add_exception_handler(_LoginRequired, _to_login)
    app.state.error_page = error_page
