"""The stored automations as the runtime uses them: parsed once per change.

A stored automation is JSON text (`storage.automations.AutomationRecord`); the
evaluator needs its trigger and the action runner its actions as models. `Loader`
parses each automation again only when its `updated_at` changes, and leaves out (with
a log line) one whose stored JSON no longer parses, so one bad row stops no other.
"""

from __future__ import annotations

import dataclasses
import logging

import pydantic

from tarry.storage import automations as automation_records
from tarry.storage import port
from tarry.triggers import actions as action_models
from tarry.triggers import models, parse

__all__ = ["Loaded", "Loader", "actions_for", "spec_of", "to_record"]

_log = logging.getLogger("tarry.automations")

_ACTIONS: pydantic.TypeAdapter[list[action_models.ActionTypes]] = pydantic.TypeAdapter(
    list[action_models.ActionTypes]
)
_TRIGGER: pydantic.TypeAdapter[models.TriggerTypes] = pydantic.TypeAdapter(models.TriggerTypes)


@dataclasses.dataclass(frozen=True)
class Loaded:
    """One stored automation with its trigger and actions parsed."""

    record: automation_records.AutomationRecord
    """As stored."""
    trigger: models.TriggerTypes
    """Its trigger."""
    actions: list[action_models.ActionTypes]
    """What it does on every firing."""
    actions_on_trigger: list[action_models.ActionTypes]
    """What it also does when it becomes triggered."""
    actions_on_resolve: list[action_models.ActionTypes]
    """What it also does when it resolves."""


def actions_for(loaded: Loaded, kind: str) -> list[action_models.ActionTypes]:
    """The actions of a firing of `kind`: `actions`, then those of the kind (as Prefect)."""
    extra = loaded.actions_on_trigger if kind == "triggered" else loaded.actions_on_resolve
    return [*loaded.actions, *extra]


def _dump(actions_: list[action_models.ActionTypes]) -> str:
    return _ACTIONS.dump_json(actions_).decode()


def to_record(
    spec: parse.AutomationSpec, *, automation_id: str, created_at: float, updated_at: float
) -> automation_records.AutomationRecord:
    """`spec` as the store keeps it (the trigger and actions as JSON, Prefect's names mapped)."""
    return automation_records.AutomationRecord(
        id=automation_id,
        name=spec.name,
        description=spec.description,
        enabled=spec.enabled,
        trigger=_TRIGGER.dump_json(spec.trigger).decode(),
        actions=_dump(spec.actions),
        actions_on_trigger=_dump(spec.actions_on_trigger),
        actions_on_resolve=_dump(spec.actions_on_resolve),
        created_at=created_at,
        updated_at=updated_at,
    )


def spec_of(record: automation_records.AutomationRecord) -> parse.AutomationSpec:
    """The automation a stored record holds.

    Raises:
        pydantic.ValidationError: The stored JSON is no longer a valid automation.
    """
    loaded = _parse(record)
    return parse.AutomationSpec(
        name=record.name,
        description=record.description,
        enabled=record.enabled,
        trigger=loaded.trigger,
        actions=loaded.actions,
        actions_on_trigger=loaded.actions_on_trigger,
        actions_on_resolve=loaded.actions_on_resolve,
    )


def _parse(record: automation_records.AutomationRecord) -> Loaded:
    return Loaded(
        record,
        parse.parse_trigger(record.trigger),
        _ACTIONS.validate_json(record.actions or "[]"),
        _ACTIONS.validate_json(record.actions_on_trigger or "[]"),
        _ACTIONS.validate_json(record.actions_on_resolve or "[]"),
    )


class Loader:
    """The automations of a store, parsed, kept until they change."""

    def __init__(self) -> None:
        self._known: dict[str, Loaded] = {}

    def load(self, store: port.Store) -> dict[str, Loaded]:
        """Every stored automation that parses, by id (enabled or not)."""
        found: dict[str, Loaded] = {}
        for record in store.list_automations():
            known = self._known.get(record.id)
            if known is not None and known.record == record:
                found[record.id] = known
                continue
            try:
                found[record.id] = _parse(record)
            except (pydantic.ValidationError, ValueError):
                _log.exception("automation %s (%s) cannot be read; skipped", record.name, record.id)
        self._known = found
        return found
