"""The REST API's bodies for automations.

`AutomationIn` is an automation document in Prefect's JSON shape (`name`, `trigger`,
`actions`, `actions_on_trigger`, `actions_on_resolve`, `description`, `enabled`),
read by `tarry.triggers.parse`: Prefect's `prefect.` names are taken as `tarry.`, and
fields of Prefect's exports that describe the stored row (`id`, `tags`, `created`,
...) are ignored. `AutomationOut` gives the trigger and actions back as tarry
stores them (normalised: `tarry.` names, seconds, sorted sets).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pydantic

from tarry import automation_service
from tarry.storage import automations
from tarry.triggers import parse

__all__ = [
    "AutomationEnabledIn",
    "AutomationIn",
    "AutomationOut",
    "FiringActionOut",
    "FiringOut",
]

_SEED_EXAMPLE: dict[str, Any] = {
    "name": "daily-exports-done",
    "trigger": {
        "type": "compound",
        "require": "all",
        "within": 3600,
        "triggers": [
            {
                "type": "event",
                "posture": "Reactive",
                "expect": ["prefect.block.remote-file-system.write_path.called"],
                "match_related": {
                    "prefect.resource.name": name,
                    "prefect.resource.role": "flow",
                },
            }
            for name in ("daily-customer-export", "daily-revenue-export")
        ],
    },
    "actions": [{"type": "send-notification", "to": ["data@example.com"], "body": "done"}],
}


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


class AutomationIn(parse.AutomationSpec):
    """An automation: when `trigger` fires, take `actions` (Prefect's JSON shape)."""

    model_config = pydantic.ConfigDict(json_schema_extra={"examples": [_SEED_EXAMPLE]})


class AutomationEnabledIn(pydantic.BaseModel):
    """Enable or disable an automation (Prefect's partial update)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    enabled: bool = pydantic.Field(description="Whether it is evaluated.")


class AutomationOut(pydantic.BaseModel):
    """An automation as stored."""

    id: str = pydantic.Field(description="Its id.")
    name: str = pydantic.Field(description="Its name, unique among automations.")
    description: str = pydantic.Field(description="What it is for.")
    enabled: bool = pydantic.Field(description="Whether it is evaluated.")
    trigger: dict[str, Any] = pydantic.Field(description="When it fires (tarry's names).")
    trigger_summary: str = pydantic.Field(description="The trigger in a few words.")
    actions: list[dict[str, Any]] = pydantic.Field(description="What it does when it fires.")
    actions_on_trigger: list[dict[str, Any]] = pydantic.Field(
        description="More actions when it fires."
    )
    actions_on_resolve: list[dict[str, Any]] = pydantic.Field(
        description="Actions when it resolves."
    )
    created: dt.datetime = pydantic.Field(description="When it was made.")
    updated: dt.datetime = pydantic.Field(description="When it last changed.")
    last_fired: dt.datetime | None = pydantic.Field(
        None, description="When it last fired or resolved; `null`: never."
    )

    @classmethod
    def of(cls, stored: automation_service.StoredAutomation) -> AutomationOut:
        """From a stored automation."""
        record = stored.record
        return cls(
            id=record.id,
            name=record.name,
            description=record.description,
            enabled=record.enabled,
            trigger=json.loads(record.trigger),
            trigger_summary=stored.summary,
            actions=json.loads(record.actions),
            actions_on_trigger=json.loads(record.actions_on_trigger),
            actions_on_resolve=json.loads(record.actions_on_resolve),
            created=_at(record.created_at),
            updated=_at(record.updated_at),
            last_fired=None if stored.last_fired is None else _at(stored.last_fired),
        )


class FiringActionOut(pydantic.BaseModel):
    """One action of a firing and how it went."""

    index: int = pydantic.Field(description="Its place among the firing's actions, from 0.")
    type: str = pydantic.Field(description="The action's `type` (`run-deployment`, ...).")
    action: dict[str, Any] = pydantic.Field(description="The action as it was when it fired.")
    status: str = pydantic.Field(description="`pending`, `done` or `failed`.")
    attempts: int = pydantic.Field(description="How many times it was tried.")
    detail: str = pydantic.Field(description="What the last attempt said.")
    due_at: dt.datetime = pydantic.Field(description="When it is (or was) due.")
    settled_at: dt.datetime | None = pydantic.Field(
        description="When it became done or failed; `null` while pending."
    )


class FiringOut(pydantic.BaseModel):
    """One firing of an automation, with its actions."""

    id: str = pydantic.Field(description="Its id.")
    automation_id: str = pydantic.Field(description="The automation that fired.")
    fired_at: dt.datetime = pydantic.Field(description="When it fired.")
    kind: str = pydantic.Field(description="`triggered` or `resolved`.")
    key: str = pydantic.Field(description="The trigger bucket that fired.")
    triggering_event: Any = pydantic.Field(
        description="The event that made it fire; `null`: a timer or a metric did."
    )
    actions: list[FiringActionOut] = pydantic.Field(description="Its actions, by index.")

    @classmethod
    def of(cls, firing: automation_service.Firing) -> FiringOut:
        """From a firing read from the store."""
        record = firing.record
        return cls(
            id=record.id,
            automation_id=record.automation_id,
            fired_at=_at(record.fired_at),
            kind=record.kind,
            key=record.key,
            triggering_event=firing.triggering_event,
            actions=[_action(each) for each in firing.actions],
        )


def _action(each: automations.ActionRecord) -> FiringActionOut:
    action = json.loads(each.action)
    return FiringActionOut(
        index=each.index,
        type=str(action.get("type", "")) if isinstance(action, dict) else "",
        action=action if isinstance(action, dict) else {"value": action},
        status=str(each.status),
        attempts=each.attempts,
        detail=each.detail,
        due_at=_at(each.due_at),
        settled_at=None if each.settled_at is None else _at(each.settled_at),
    )
