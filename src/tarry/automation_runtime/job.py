"""One action of one firing, ready to run: the action, its event, what templates see.

Every effect derives its idempotency identity from `(firing id, index)`: a run started
by `run-deployment` gets the id `run_id`, a message sent by `send-input` the key
`automation-<firing>-<index>`, an outbox item the key `automation:<firing>:<index>:...`.
Running the action again after a crash therefore has its effect once.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from tarry import host, serialization
from tarry.storage import automations as records
from tarry.triggers import actions, templates
from tarry.triggers import event as event_module

__all__ = ["Job", "make_job"]

_RUNS = uuid.UUID("c0b9a1f2-7e3d-4b8a-9f51-2d6e4a7c8b13")


@dataclasses.dataclass(frozen=True)
class Job:
    """An action to run, with what it runs in."""

    hst: host.Host
    """The host whose store it acts on."""
    firing: records.FiringRecord
    """Its firing."""
    index: int
    """Its place among the firing's actions."""
    action: actions.ActionTypes
    """The action."""
    event: event_module.Event | None
    """The triggering event."""
    values: dict[str, Any]
    """What its templates see (`triggers.templates.context`)."""
    automation_name: str
    """The automation's name (its id if it was deleted)."""

    @property
    def identity(self) -> str:
        """`<firing id>:<index>`: the same for every attempt."""
        return f"{self.firing.id}:{self.index}"

    @property
    def run_id(self) -> str:
        """The id of the run a `run-deployment` action starts."""
        return str(uuid.uuid5(_RUNS, self.identity))

    @property
    def by(self) -> str:
        """Who acts, as runs and messages show it."""
        return f"automation {self.automation_name}"

    def render(self, value: Any) -> Any:
        """`value` with its templates rendered (see `triggers.templates.render`).

        Raises:
            ValueError: A template cannot be rendered.
        """
        return templates.render(value, self.values)


def _lookup(hst: host.Host) -> templates.Lookup:
    def lookup(run_id: str) -> dict[str, Any] | None:
        run = hst.store.get_run(run_id)
        if run is None:
            return None
        return {
            "id": run.id,
            "name": run.name,
            "flow_name": run.flow_name,
            "deployment": run.deployment,
            "parameters": serialization.loads(run.parameters) if run.parameters else {},
            "state": run.state.value,
            "tags": list(run.tags),
        }

    return lookup


def make_job(
    hst: host.Host,
    firing: records.FiringRecord,
    row: records.ActionRecord,
    action: actions.ActionTypes,
) -> Job:
    """The job of one action row."""
    seen = (
        event_module.event_from_dict(json.loads(firing.triggering_event))
        if firing.triggering_event
        else None
    )
    automation = hst.store.get_automation(firing.automation_id)
    name = automation.name if automation is not None else firing.automation_id
    facts = {
        "id": firing.automation_id,
        "name": name,
        "description": automation.description if automation is not None else "",
    }
    context = json.loads(firing.context) if firing.context else {}
    firing_facts = {**context, "id": firing.id, "kind": firing.kind, "at": firing.fired_at}
    values = templates.context(seen, facts, firing_facts, _lookup(hst))
    return Job(hst, firing, row.index, action, seen, values, name)
