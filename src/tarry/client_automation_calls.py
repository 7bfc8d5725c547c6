"""The pure core of the clients' automation methods: the calls they send.

As in `tarry.client_calls`, no I/O here: each `*_call` function builds the `Call`
that `tarry.client_automations` sends from `Client` and from `AsyncClient`. An
automation is named by its id or its name; a 404 names it
(`errors.AutomationNotFound`), a 409 is `errors.AutomationNameTaken` and a 422
`errors.AutomationInvalid` with the server's field errors.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

import pydantic

from tarry import _lazy
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry.web import automation_schemas as schemas
else:
    # The API models cost milliseconds to import: the client pays on first use.
    schemas = _lazy.Lazy("tarry.web.automation_schemas")

__all__ = [
    "AutomationRef",
    "automation_call",
    "automations_call",
    "create_automation_call",
    "delete_automation_call",
    "document_of",
    "enabled_call",
    "firings_call",
    "update_automation_call",
]

AutomationRef = uuid.UUID | str
"""An automation's id (a `UUID` or its text) or its name."""

_PATH = "automations"


def _ref(automation: AutomationRef) -> str:
    return str(automation)


def _path(automation: AutomationRef, rest: str = "") -> str:
    return f"{_PATH}/{urllib.parse.quote(_ref(automation), safe='')}{rest}"


def document_of(automation: Any) -> Any:
    """The JSON body of an automation given as a model (`Automation`, ...) or as data."""
    if isinstance(automation, pydantic.BaseModel):
        return automation.model_dump(mode="json", exclude={"id"})
    return automation


def _one(body: Any) -> schemas.AutomationOut:
    return schemas.AutomationOut.model_validate(body)


def _many(body: Any) -> list[schemas.AutomationOut]:
    return [schemas.AutomationOut.model_validate(item) for item in body]


def _firings(body: Any) -> list[schemas.FiringOut]:
    return [schemas.FiringOut.model_validate(item) for item in body]


def _nothing(_body: Any) -> None:
    return None


def automations_call() -> Call[list[schemas.AutomationOut]]:
    """The call of `Client.read_automations`."""
    return Call("GET", _PATH, _many)


def automation_call(automation: AutomationRef) -> Call[schemas.AutomationOut]:
    """The call of `Client.read_automation`."""
    ref = _ref(automation)
    return Call("GET", _path(ref), _one, subject="automation", subject_id=ref)


def create_automation_call(automation: Any) -> Call[schemas.AutomationOut]:
    """The call of `Client.create_automation`."""
    body = document_of(automation)
    name = str(body.get("name", "")) if isinstance(body, dict) else ""
    return Call("POST", _PATH, _one, body=body, subject="automation", subject_id=name)


def update_automation_call(
    automation_id: AutomationRef, automation: Any
) -> Call[schemas.AutomationOut]:
    """The call of `Client.update_automation`: the whole automation, replaced."""
    ref = _ref(automation_id)
    body = document_of(automation)
    return Call("PUT", _path(ref), _one, body=body, subject="automation", subject_id=ref)


def enabled_call(automation: AutomationRef, enabled: bool) -> Call[schemas.AutomationOut]:
    """The call of `Client.pause_automation` and `Client.resume_automation`."""
    ref = _ref(automation)
    body = {"enabled": enabled}
    return Call("PATCH", _path(ref), _one, body=body, subject="automation", subject_id=ref)


def delete_automation_call(automation: AutomationRef) -> Call[None]:
    """The call of `Client.delete_automation`."""
    ref = _ref(automation)
    return Call("DELETE", _path(ref), _nothing, subject="automation", subject_id=ref)


def firings_call(automation: AutomationRef, limit: int) -> Call[list[schemas.FiringOut]]:
    """The call of `Client.read_automation_firings`."""
    ref = _ref(automation)
    path = _path(ref, "/firings")
    params = (("limit", limit),)
    return Call("GET", path, _firings, params=params, subject="automation", subject_id=ref)
