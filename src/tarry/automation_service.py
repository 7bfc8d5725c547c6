"""Automations for the interfaces: the REST API, the client, the CLI, the UI and `Automation`.

Like `tarry.limit_service`, this is the one door: each function takes plain values
(a document as a dict, JSON or YAML text, or an `AutomationSpec` already made),
checks what came from outside before any store sees it, and returns what a person
asks about next (a `StoredAutomation`: the record, its trigger and actions as
models, and when it last fired).

* A document is read by `tarry.triggers.parse` (Prefect's `prefect.` names mapped
  to `tarry.`); one that does not fit is `errors.AutomationInvalid`, whose
  `field_errors` name each wrong field, and nothing is stored.
* Names are unique (`errors.AutomationNameTaken`); an automation is found by id,
  else by name (`errors.AutomationNotFound`).
* Every change reaches this process's evaluator at once (`automation_runtime`), and
  is announced as an event right after it is made:
  `tarry.automation.created|updated|enabled|disabled|deleted`, resource
  `tarry.automation.<id>` named by the automation's name.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pydantic

from tarry import automation_runtime, boundary, errors, event_service, host
from tarry.storage import automations, events
from tarry.triggers import models, parse

__all__ = [
    "Firing",
    "StoredAutomation",
    "create_automation",
    "delete_automation",
    "firings_of",
    "get_automation",
    "list_automations",
    "set_enabled",
    "trigger_summary",
    "update_automation",
    "validate",
]


@dataclasses.dataclass(frozen=True)
class StoredAutomation:
    """An automation as stored, with its trigger and actions as models."""

    record: automations.AutomationRecord
    """The stored record (its trigger and actions as normalised JSON text)."""
    spec: parse.AutomationSpec
    """The same automation as models."""
    last_fired: float | None = None
    """When it last fired or resolved (`None`: never, or not read)."""

    @property
    def id(self) -> str:
        """Its id."""
        return self.record.id

    @property
    def name(self) -> str:
        """Its name (unique)."""
        return self.record.name

    @property
    def summary(self) -> str:
        """Its trigger in words (`compound: all of 2 within 1h`)."""
        return trigger_summary(self.spec.trigger)

    def document(self) -> dict[str, Any]:
        """The automation as JSON data: what `create_automation` takes back."""
        return self.spec.model_dump(mode="json")


@dataclasses.dataclass(frozen=True)
class Firing:
    """One firing of an automation and how each of its actions went."""

    record: automations.FiringRecord
    """The firing."""
    actions: list[automations.ActionRecord]
    """Its actions, by index."""

    @property
    def triggering_event(self) -> Any:
        """The event that made it fire, as JSON data (`None`: a timer or a metric)."""
        return json.loads(self.record.triggering_event) if self.record.triggering_event else None

    @property
    def context(self) -> Any:
        """What its actions could use in templates, as JSON data."""
        return json.loads(self.record.context) if self.record.context else {}


def _host(hst: host.Host | None) -> host.Host:
    return hst or host.get_host()


# -- reading documents ------------------------------------------------------------------------


def _field_errors(error: pydantic.ValidationError) -> list[errors.FieldError]:
    return [
        errors.FieldError(tuple(e["loc"]), str(e["msg"]).removeprefix("Value error, "), e["type"])
        for e in error.errors()
    ]


def validate(document: Any) -> parse.AutomationSpec:
    """An automation from a dict, JSON or YAML text (or a spec, returned as it is).

    Raises:
        errors.AutomationInvalid: The text cannot be read, or a field does not fit.
    """
    if isinstance(document, parse.AutomationSpec):
        return document
    try:
        return parse.parse_automation(document)
    except pydantic.ValidationError as error:
        raise errors.AutomationInvalid(_field_errors(error)) from None
    except ValueError as error:
        # YAML's messages run over lines; interfaces show one.
        one_line = " ".join(str(error).split())
        raise errors.AutomationInvalid([errors.FieldError((), one_line)]) from None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _record(
    spec: parse.AutomationSpec, automation_id: str, created_at: float, now: float
) -> automations.AutomationRecord:
    data = spec.model_dump(mode="json")
    return automations.AutomationRecord(
        id=automation_id,
        name=spec.name,
        description=spec.description,
        enabled=spec.enabled,
        trigger=_dumps(data["trigger"]),
        actions=_dumps(data["actions"]),
        actions_on_trigger=_dumps(data["actions_on_trigger"]),
        actions_on_resolve=_dumps(data["actions_on_resolve"]),
        created_at=created_at,
        updated_at=now,
    )


def _spec_of(record: automations.AutomationRecord) -> parse.AutomationSpec:
    return parse.AutomationSpec.model_validate(
        {
            "name": record.name,
            "description": record.description,
            "enabled": record.enabled,
            "trigger": json.loads(record.trigger),
            "actions": json.loads(record.actions),
            "actions_on_trigger": json.loads(record.actions_on_trigger),
            "actions_on_resolve": json.loads(record.actions_on_resolve),
        }
    )


def _stored(record: automations.AutomationRecord, hst: host.Host) -> StoredAutomation:
    latest = hst.store.firings_of(record.id, 1)
    last = latest[0][0].fired_at if latest else None
    return StoredAutomation(record, _spec_of(record), last)


def _checked(spec: parse.AutomationSpec, hst: host.Host) -> parse.AutomationSpec:
    boundary.check(
        hst.settings,
        "the automation",
        spec.model_dump(mode="json"),
        name=spec.name,
        description=spec.description,
    )
    return spec


def _announce(hst: host.Host, record: automations.AutomationRecord, what: str) -> None:
    resource = {
        events.RESOURCE_ID: f"tarry.automation.{record.id}",
        events.RESOURCE_NAME: record.name,
    }
    # This process's evaluator reads the change at once; others within a second.
    automation_runtime.automations_changed(hst)
    event_service.announce(hst, f"tarry.automation.{what}", resource, {"enabled": record.enabled})


# -- the door ---------------------------------------------------------------------------------


def create_automation(document: Any, *, hst: host.Host | None = None) -> StoredAutomation:
    """Make an automation from a document (dict, JSON or YAML text, or a spec).

    Returns:
        It as stored, with its new id.

    Raises:
        errors.AutomationInvalid: The document does not fit; nothing is stored.
        errors.ValueRefused: It holds what tarry cannot store (a NUL, too large).
        errors.AutomationNameTaken: Another automation has this name.
    """
    hst = _host(hst)
    spec = _checked(validate(document), hst)
    now = hst.clock.now()
    record = _record(spec, str(uuid.uuid4()), now, now)
    if not hst.store.put_automation(record, create=True):  # a uuid4 taken: not in practice
        raise errors.StoreError(f"an automation has the id {record.id} already")
    _announce(hst, record, "created")
    return StoredAutomation(record, spec)


def _find(id_or_name: str, hst: host.Host) -> automations.AutomationRecord:
    found = hst.store.get_automation(id_or_name) if boundary.may_exist(id_or_name) else None
    if found is None:
        raise errors.AutomationNotFound(id_or_name)
    return found


def get_automation(id_or_name: str, *, hst: host.Host | None = None) -> StoredAutomation:
    """One automation, by id or else by name.

    Raises:
        errors.AutomationNotFound: None has this id or name.
    """
    hst = _host(hst)
    return _stored(_find(id_or_name, hst), hst)


def list_automations(*, hst: host.Host | None = None) -> list[StoredAutomation]:
    """Every automation by name, enabled or not, with when each last fired."""
    hst = _host(hst)
    return [_stored(record, hst) for record in hst.store.list_automations()]


def update_automation(
    id_or_name: str, document: Any, *, hst: host.Host | None = None
) -> StoredAutomation:
    """Replace an automation's name, trigger, actions and settings; its id stays.

    Raises:
        errors.AutomationNotFound: None has this id or name.
        errors.AutomationInvalid: The document does not fit; nothing changes.
        errors.ValueRefused: It holds what tarry cannot store.
        errors.AutomationNameTaken: Another automation has the new name.
    """
    hst = _host(hst)
    spec = _checked(validate(document), hst)
    known = _find(id_or_name, hst)
    record = _record(spec, known.id, known.created_at, hst.clock.now())
    if not hst.store.put_automation(record, create=False):
        raise errors.AutomationNotFound(id_or_name)  # deleted meanwhile
    _announce(hst, record, "updated")
    if record.enabled != known.enabled:
        _announce(hst, record, "enabled" if record.enabled else "disabled")
    return _stored(record, hst)


def set_enabled(
    id_or_name: str, enabled: bool, *, hst: host.Host | None = None
) -> StoredAutomation:
    """Enable or disable an automation (a disabled one is kept but not evaluated).

    Announced only when it changes: enabling an enabled automation is a no-op.

    Raises:
        errors.AutomationNotFound: None has this id or name.
    """
    hst = _host(hst)
    known = _find(id_or_name, hst)
    if known.enabled == enabled:
        return _stored(known, hst)
    if not hst.store.set_automation_enabled(known.id, enabled, hst.clock.now()):
        raise errors.AutomationNotFound(id_or_name)
    changed = _find(known.id, hst)
    _announce(hst, changed, "enabled" if enabled else "disabled")
    return _stored(changed, hst)


def delete_automation(id_or_name: str, *, hst: host.Host | None = None) -> StoredAutomation:
    """Delete an automation and its evaluation state; its firings stay as history.

    Returns:
        The automation as it was.

    Raises:
        errors.AutomationNotFound: None has this id or name.
    """
    hst = _host(hst)
    known = _find(id_or_name, hst)
    if not hst.store.delete_automation(known.id):
        raise errors.AutomationNotFound(id_or_name)
    _announce(hst, known, "deleted")
    return StoredAutomation(known, _spec_of(known))


def firings_of(id_or_name: str, limit: int = 50, *, hst: host.Host | None = None) -> list[Firing]:
    """An automation's latest firings, newest first, each with its actions' status.

    A deleted automation's firings are still read by its id.

    Raises:
        errors.AutomationNotFound: No automation has this id or name, and no
            firing names it.
    """
    hst = _host(hst)
    if not boundary.may_exist(id_or_name):
        raise errors.AutomationNotFound(id_or_name)
    known = hst.store.get_automation(id_or_name)
    found = hst.store.firings_of(known.id if known is not None else id_or_name, limit)
    if known is None and not found:
        raise errors.AutomationNotFound(id_or_name)
    return [Firing(firing, list(actions)) for firing, actions in found]


# -- in words ---------------------------------------------------------------------------------


def _span(seconds: float) -> str:
    left, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def _within(value: Any) -> str:
    seconds = value.total_seconds() if value is not None else 0
    return f" within {_span(seconds)}" if seconds > 0 else ""


def _names(names: set[str]) -> str:
    return ", ".join(sorted(names)) if names else "any event"


def _event_words(trigger: models.EventTrigger) -> str:
    after = f" after {_names(trigger.after)}" if trigger.after else ""
    each = f" for each {', '.join(sorted(trigger.for_each))}" if trigger.for_each else ""
    if trigger.posture == models.Posture.Proactive:
        counted = f"fewer than {trigger.threshold} x {_names(trigger.expect)}"
        return f"event (proactive): {counted}{_within(trigger.within)}{after}{each}"
    times = f"{trigger.threshold} x " if trigger.threshold > 1 else ""
    return f"event: {times}{_names(trigger.expect)}{after}{_within(trigger.within)}{each}"


def _metric_words(trigger: models.MetricTrigger) -> str:
    query = trigger.metric
    value = f"{query.threshold * 100:g}%" if query.name == "successes" else f"{query.threshold:g}s"
    span, held = _span(query.range.total_seconds()), _span(query.firing_for.total_seconds())
    return f"metric: {query.name} {query.operator} {value} over {span} for {held}"


def trigger_summary(trigger: models.TriggerTypes) -> str:
    """A trigger in a few words, as lists show it (`compound: all of 2 within 1h`)."""
    if isinstance(trigger, models.EventTrigger):
        return _event_words(trigger)
    if isinstance(trigger, models.MetricTrigger):
        return _metric_words(trigger)
    count = len(trigger.triggers)
    if isinstance(trigger, models.SequenceTrigger):
        return f"sequence: {count} in order{_within(trigger.within)}"
    return f"compound: {trigger.require} of {count}{_within(trigger.within)}"
