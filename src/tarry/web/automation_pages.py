"""The Automations pages: every automation, one automation with its firings, and a new one.

The list shows each automation's name, its trigger in words (`compound: all of 2
within 1h`), whether it is enabled (with a button that flips it) and when it last
fired. An automation's page shows its trigger and actions as JSON, the button, and
its latest firings with the status of every action. The new-automation page takes
a pasted JSON or YAML document (Prefect's shape, seed 003's JSON as it is); one that
does not fit is shown again with each field's error next to the text. Every POST
checks the CSRF token; an unknown automation is a 404 page.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tarry import automation_service, errors, host
from tarry.web import auth, login, pages

__all__ = [
    "FiringRow",
    "automation_page",
    "automations_page",
    "create_automation",
    "new_automation_page",
    "router",
    "set_enabled",
]

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

Ref = Annotated[str, PathParam(min_length=1, max_length=300)]
"""An automation's id or name in a page's path."""

_FIELD = "document"
_EXAMPLE = """{
  "name": "daily-exports-done",
  "trigger": {"type": "compound", "require": "all", "within": 3600, "triggers": [...]},
  "actions": [{"type": "send-notification", "to": ["data@example.com"], "body": "done"}]
}"""


@dataclasses.dataclass(frozen=True)
class FiringRow:
    """A firing as the automation's page shows it."""

    firing: automation_service.Firing
    """The firing and its actions."""

    @property
    def event_name(self) -> str | None:
        """The name of the event that made it fire (`None`: a timer or metric did)."""
        found = self.firing.triggering_event
        return str(found.get("event")) if isinstance(found, dict) and "event" in found else None

    @property
    def actions(self) -> list[tuple[str, Any]]:
        """Each action's `type`, with its record."""
        return [(_type_of(each.action), each) for each in self.firing.actions]


def _type_of(action: str) -> str:
    found = json.loads(action)
    return str(found.get("type", "?")) if isinstance(found, dict) else "?"


@router.get("/automations")
async def automations_page(request: Request) -> Response:
    """Every automation by name."""
    hst = pages.host_of(request)
    found = await run_in_threadpool(automation_service.list_automations, hst=hst)
    return pages.render(request, "automations.html", {"section": "automations", "found": found})


@router.get("/automations/new")
async def new_automation_page(request: Request) -> Response:
    """The form that makes an automation from pasted JSON or YAML."""
    return _new_page(request, "", [])


@router.post("/automations/new")
async def create_automation(request: Request) -> Response:
    """Make the pasted automation, or show the form again with its field errors."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    text = pages.form_text(form, _FIELD) or ""
    hst = pages.host_of(request)
    try:
        made = await run_in_threadpool(_create, hst, text)
    except (errors.AutomationInvalid, errors.ValueRefused) as exc:
        return _new_page(request, text, exc.field_errors, status=422)
    except errors.AutomationNameTaken as exc:
        return _new_page(request, text, [errors.FieldError(("name",), str(exc))], status=409)
    done = pages.Flash("ok", f"Automation {made.name} made: {made.summary}.")
    return pages.redirect(f"/automations/{pages.url_quote(made.id)}", done)


@router.get("/automations/{ref}")
async def automation_page(request: Request, ref: Ref) -> Response:
    """One automation: its trigger, actions and firings."""
    hst = pages.host_of(request)
    found = await run_in_threadpool(automation_service.get_automation, ref, hst=hst)
    firings = await run_in_threadpool(automation_service.firings_of, found.id, 50, hst=hst)
    document = found.document()
    context = {
        "section": "automations",
        "found": found,
        "trigger_json": json.dumps(document["trigger"], indent=2),
        "actions_json": {
            field: json.dumps(document[field], indent=2)
            for field in ("actions", "actions_on_trigger", "actions_on_resolve")
            if document[field]
        },
        "firings": [FiringRow(each) for each in firings],
    }
    return pages.render(request, "automation.html", context)


@router.post("/automations/{ref}/{action}")
async def set_enabled(request: Request, ref: Ref, action: Ref) -> Response:
    """Enable or disable an automation, then go back to the page it was changed on."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    if action not in ("enable", "disable"):
        return pages.error_page(request, 404, f"no such action: {action}")
    hst = pages.host_of(request)
    changed = await run_in_threadpool(_set, hst, ref, action == "enable")
    back = pages.form_text(form, "back") or ""
    target = back if back == "/automations" else f"/automations/{pages.url_quote(changed.id)}"
    said = "enabled" if changed.record.enabled else "disabled: it is kept but not evaluated"
    return pages.redirect(target, pages.Flash("ok", f"Automation {changed.name} {said}."))


def _new_page(
    request: Request, text: str, field_errors: list[errors.FieldError], status: int = 200
) -> Response:
    context = {
        "section": "automations",
        "document": text,
        "field": _FIELD,
        "example": _EXAMPLE,
        "field_errors": field_errors,
    }
    return pages.render(request, "automation_new.html", context, status=status)


def _create(hst: host.Host, text: str) -> automation_service.StoredAutomation:
    return automation_service.create_automation(text, hst=hst)


def _set(hst: host.Host, ref: str, enabled: bool) -> automation_service.StoredAutomation:
    return automation_service.set_enabled(ref, enabled, hst=hst)
