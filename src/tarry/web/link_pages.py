"""Answer links: the pages behind the signed links in notifications.

They need no login: the signed token is the permission, and it binds the wait,
the choice, the person it was sent to and an expiry. Opening a link never
decides anything (mail scanners and chat previews open links): GET shows the
question and a confirm button, or the answer form when the choice is not a whole
answer; only the POST from that page answers. Refusals are pages that say why:
403 for an altered link, 410 for an expired one or a closed question, 409 when the
question was already answered.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from tarry import errors, service
from tarry.forms import choices, decisions
from tarry.forms import fields as forms
from tarry.outbound import tokens
from tarry.states import WaitStatus
from tarry.web import answer_form, formatting, pages

__all__ = ["LinkToken", "answer_by_link", "open_link", "router"]

router = APIRouter(include_in_schema=False)

LinkToken = Annotated[str, PathParam(min_length=1, max_length=4000)]
"""A signed link token in a page's path."""


@dataclasses.dataclass(frozen=True)
class _Opened:
    """A link whose token checked out, with the question it answers."""

    token: str
    claim: tokens.LinkClaim
    item: service.InboxItem

    @functools.cached_property
    def spec(self) -> dict[str, Any] | None:
        """The wait's stored input spec, parsed once."""
        loaded: dict[str, Any] | None = (
            json.loads(self.item.wait.spec) if self.item.wait.spec else None
        )
        return loaded

    @property
    def answers_at_once(self) -> bool:
        """Whether the link's choice is a whole answer (a confirm is all that is left)."""
        if not self.claim.has_decision:
            return False
        schema = (self.spec or {}).get("schema") or {}
        required = set(schema.get("required") or ())
        return required <= set(self.claim.decision)


class _Refused(Exception):
    """The link cannot be used; the page says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = _TITLES[status]


_TITLES = {
    403: "This link is not valid",
    409: "Already answered",
    410: "This link can no longer be used",
}


@router.get("/l/{token}")
async def open_link(request: Request, token: LinkToken) -> Response:
    """The question with the link's choice and a confirm button, or its answer form."""
    try:
        opened = await run_in_threadpool(_open, request, token)
    except _Refused as refused:
        return pages.error_page(request, refused.status, refused.detail, refused.title)
    if opened.answers_at_once:
        return _confirm_page(request, opened)
    return _form_page(request, opened)


@router.post("/l/{token}")
async def answer_by_link(request: Request, token: LinkToken) -> Response:
    """Answer with the link's choice (or the form's fields) and say it was taken."""
    form = await request.form()
    try:
        opened = await run_in_threadpool(_open, request, token)
        data = _answer_data(opened, form)
        await run_in_threadpool(_submit, request, opened, data, _responder(opened, form))
    except _Refused as refused:
        return pages.error_page(request, refused.status, refused.detail, refused.title)
    except errors.InputInvalid as exc:
        notice = "The answer was not accepted; correct the fields marked below."
        return _form_page(request, opened, form, exc.field_errors, notice, status=422)
    return _done_page(request, opened, data)


def _open(request: Request, token: str) -> _Opened:
    hst = pages.host_of(request)
    try:
        claim = tokens.read_link(tokens.secret_key(hst.settings), token, hst.clock.now())
        item = service.get_inbox_item(claim.wait_id, hst=hst)
    except errors.LinkInvalid:
        raise _Refused(403, _INVALID) from None
    except errors.LinkExpired as exc:
        raise _Refused(
            410, f"This link expired at {formatting.when(exc.expired_at)} UTC."
        ) from None
    except errors.WaitNotFound:
        raise _Refused(410, "The question this link answers no longer exists.") from None
    _check_open(item)
    return _Opened(token, claim, item)


_INVALID = (
    "This link is not valid: it was changed or cut short, or it belongs to another "
    "server. Open it again from the message you received, exactly as it is."
)


def _check_open(item: service.InboxItem) -> None:
    wait = item.wait
    if wait.status is WaitStatus.ANSWERED:
        who = wait.responder or "someone"
        raise _Refused(409, f"This question was already answered by {who} at {_closed(item)}.")
    if wait.status is WaitStatus.TIMED_OUT:
        raise _Refused(410, f"This question closed unanswered at its deadline, {_closed(item)}.")
    if wait.status is not WaitStatus.OPEN or item.run.state.is_final:
        state = item.run.state.value
        raise _Refused(410, f"This question was withdrawn: its run is {state}.")


def _closed(item: service.InboxItem) -> str:
    return f"{formatting.when(item.wait.closed_at)} UTC"


def _answer_data(opened: _Opened, form: FormData) -> Any:
    if opened.answers_at_once:
        return _with_comment(opened, form)
    spec = opened.spec
    if spec is None:
        return None
    asked = answer_form.asked_by(opened.item.wait)
    return forms.answer_from_form(spec, pages.form_lists(form), asked=asked)


def _with_comment(opened: _Opened, form: FormData) -> Any:
    """The link's choice, with what the confirm page asked that the input takes.

    That is the comment, and the name typed when the input has a field for it.
    """
    spec = opened.spec or {}
    answer = opened.claim.decision
    for name in (decisions.comment_field(spec), decisions.responder_field(spec)):
        typed = (pages.form_text(form, name) or "").strip() if name else ""
        if name and typed and isinstance(answer, dict) and name not in answer:
            answer = {**answer, name: typed}
    return answer


def _responder(opened: _Opened, form: FormData) -> str | None:
    if opened.claim.responder:
        return opened.claim.responder
    name = pages.form_text(form, answer_form.responder_field(opened.spec)) or ""
    return name.strip()[: answer_form.MAX_RESPONDER] or None


def _submit(request: Request, opened: _Opened, data: Any, responder: str | None) -> None:
    hst = pages.host_of(request)
    item = opened.item
    try:
        service.submit_input(
            item.run.id,
            data,
            wait_id=item.wait.id,
            responder=responder,
            channel="link",
            prompt=(opened.spec or {}).get("description"),
            hst=hst,
        )
    except (errors.AlreadyAnswered, errors.NotWaiting, errors.RunEnded):
        # Someone was quicker: say who, from the wait as it is now.
        _check_open(service.get_inbox_item(item.wait.id, hst=hst))
        raise


def _confirm_page(request: Request, opened: _Opened) -> Response:
    form = answer_form.form_context(opened.item.wait, opened.item.run)
    context = _page_context(opened, form)
    context["choice"] = _choice_label(opened, opened.claim.decision)
    context["comment"] = _comment_field(opened, form)
    return pages.render(request, "link_confirm.html", context)


def _comment_field(opened: _Opened, form: dict[str, Any]) -> forms.FormField | None:
    """The optional comment of a decision, asked on the confirm page too."""
    name = decisions.comment_field(opened.spec or {})
    found = [f for f in form["fields"] if f.name == name]
    return found[0] if found else None


def _form_page(
    request: Request,
    opened: _Opened,
    submitted: FormData | None = None,
    field_errors: list[errors.FieldError] | None = None,
    notice: str | None = None,
    *,
    status: int = 200,
) -> Response:
    wait = _prefilled(opened)
    form = answer_form.form_context(wait, opened.item.run, submitted, field_errors)
    form["action"] = f"/l/{opened.token}"
    form["answering_as"] = opened.claim.responder
    context = _page_context(opened, form)
    context["notice"] = notice
    return pages.render(request, "link_form.html", context, status=status)


def _prefilled(opened: _Opened) -> Any:
    """The wait, with the link's choice as the form's initial data."""
    spec = opened.spec
    if spec is None or not opened.claim.has_decision:
        return opened.item.wait
    initial = {**(spec.get("initial") or {}), **opened.claim.decision}
    return dataclasses.replace(opened.item.wait, spec=json.dumps({**spec, "initial": initial}))


def _page_context(opened: _Opened, form: dict[str, Any]) -> dict[str, Any]:
    return {
        "section": "link",
        "heading": answer_form.heading_of(opened.item.wait, opened.item.run, opened.spec),
        "item": opened.item,
        "form": form,
        "token": opened.token,
        "answering_as": opened.claim.responder,
    }


def _done_page(request: Request, opened: _Opened, data: Any) -> Response:
    context = _page_context(opened, {})
    context["answer"] = _choice_label(opened, data) if opened.answers_at_once else None
    return pages.render(request, "link_done.html", context)


def _choice_label(opened: _Opened, decision: Any) -> str:
    """The label the notice gave this choice (Approve, Yes, an enum value...)."""
    schema = (opened.spec or {}).get("schema") or {}
    approval = decisions.is_approval(opened.spec or {}, answer_form.asked_by(opened.item.wait))
    found = choices.choices_of(schema, approval=approval)
    labels = [c.label for c in (found.options if found else ()) if c.answer == decision]
    return labels[0] if labels else json.dumps(decision)
