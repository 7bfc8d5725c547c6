"""The inbox and the answer pages: questions waiting for someone, and their forms.

An answer that does not fit the input's schema shows the form again with the
errors next to their fields (422); one that comes too late says who answered (409).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from tarry import errors, service
from tarry.forms import fields as forms
from tarry.states import WaitStatus
from tarry.web import answer_form, auth, formatting, login, pages

__all__ = ["WaitId", "answer", "home", "inbox_page", "input_page", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

WaitId = Annotated[str, PathParam(min_length=1, max_length=100)]
"""A wait's id in a page's path."""


@router.get("/")
async def home(request: Request) -> Response:
    """The inbox when someone's answer is awaited, else the run list."""
    waiting = await run_in_threadpool(
        service.list_pending_inputs, limit=1, hst=pages.host_of(request)
    )
    return pages.redirect("/inbox" if waiting else "/runs")


@router.get("/inbox")
async def inbox_page(
    request: Request, limit: pages.Limit = 50, offset: pages.Offset = 0
) -> Response:
    """Questions waiting for an answer, oldest first."""
    found = await run_in_threadpool(
        service.list_inbox, limit=limit + 1, offset=offset, hst=pages.host_of(request)
    )
    context = {
        "section": "inbox",
        "items": found[:limit],
        "page_links": pages.pager(request, limit, offset, len(found)),
        "refresh": pages.path_with_query(request),
    }
    return pages.render(request, "inbox.html", context)


@router.get("/inputs/{wait_id}")
async def input_page(request: Request, wait_id: WaitId) -> Response:
    """The answer form of an open wait, or the answer of a closed one."""
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=pages.host_of(request))
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
    form = answer_form.form_context(item.wait, item.run, submitted, field_errors)
    context = {"section": "inbox", "item": item, "form": form, "notice": notice}
    return pages.render(request, "input.html", context, status=status)


@router.post("/inputs/{wait_id}")
async def answer(request: Request, wait_id: WaitId) -> Response:
    """Validate and submit an answer; re-show the form with field errors when it does not fit."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    hst = pages.host_of(request)
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=hst)
    spec: dict[str, Any] | None = json.loads(item.wait.spec) if item.wait.spec else None
    asked = answer_form.asked_by(item.wait)
    lists = pages.form_lists(form)
    data = forms.answer_from_form(spec, lists, asked=asked) if spec is not None else None
    name = pages.form_text(form, answer_form.responder_field(spec)) or ""
    responder = name.strip()[: answer_form.MAX_RESPONDER] or None
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
    accepted = pages.Flash("ok", "Answer accepted.")
    return pages.redirect(f"/runs/{pages.url_quote(item.run.id)}", accepted)


async def _too_late(request: Request, wait_id: str, exc: errors.TarryError) -> Response:
    item = await run_in_threadpool(service.get_inbox_item, wait_id, hst=pages.host_of(request))
    if isinstance(exc, errors.AlreadyAnswered) and item.wait.status is WaitStatus.ANSWERED:
        who = item.wait.responder or "someone"
        answered_at = formatting.when(item.wait.closed_at)
        notice = f"This question was already answered by {who} at {answered_at} UTC."
    else:
        notice = f"This question can no longer be answered: {exc}"
    return _input_response(request, item, status=409, notice=notice)
