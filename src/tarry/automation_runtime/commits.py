"""An evaluation step as the store writes it: changes, firings and their actions, one commit.

`build` turns the evaluator's `Changes` into an `EvaluationCommit`: each firing with
its action rows (pending, due at once), in the order the automation lists them. The
events the automation code emits for each firing (`tarry.automation.triggered` or
`.resolved`) have ids made from the firing's, so emitting them again adds nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from tarry.automation_runtime import loading
from tarry.storage import automations as records
from tarry.storage import events as event_records
from tarry.triggers import changes as changes_module
from tarry.triggers import event as event_module

__all__ = ["automation_event", "build", "firing_record"]

_EVENTS = uuid.UUID("3b7e8f4c-52a1-4d0e-9a66-5d1f0c2b7a90")


def firing_record(firing: changes_module.Firing) -> records.FiringRecord:
    """The stored record of a firing."""
    seen = "" if firing.event is None else json.dumps(event_module.event_to_dict(firing.event))
    return records.FiringRecord(
        id=firing.id,
        automation_id=firing.automation_id,
        fired_at=firing.at,
        kind=firing.kind,
        key=firing.key,
        triggering_event=seen,
        context=json.dumps(firing.context),
    )


def _action_rows(
    firing: changes_module.Firing, loaded: loading.Loaded | None, now: float
) -> list[records.ActionRecord]:
    chosen = [] if loaded is None else loading.actions_for(loaded, firing.kind)
    return [
        records.ActionRecord(firing.id, index, action.model_dump_json(), due_at=now)
        for index, action in enumerate(chosen)
    ]


def build(
    step: changes_module.Changes,
    *,
    cursor_before: int,
    cursor_after: int,
    commits_before: int,
    automations: Mapping[str, loading.Loaded],
    now: float,
) -> records.EvaluationCommit:
    """The commit of one evaluation step."""
    states = [
        records.TriggerStateRecord(aid, key, text, now)
        for (aid, key), text in step.put_states.items()
    ]
    timers = [records.AutomationTimer(aid, key, due) for (aid, key), due in step.put_timers.items()]
    firings: Sequence[tuple[records.FiringRecord, Sequence[records.ActionRecord]]] = [
        (firing_record(f), _action_rows(f, automations.get(f.automation_id), now))
        for f in step.firings
    ]
    return records.EvaluationCommit(
        cursor_before=cursor_before,
        cursor_after=cursor_after,
        put_states=states,
        delete_states=step.delete_states,
        put_timers=timers,
        delete_timers=step.delete_timers,
        firings=firings,
        at=now,
        commits_before=commits_before,
    )


def automation_event(
    firing: changes_module.Firing, loaded: loading.Loaded | None
) -> event_records.EventRecord:
    """`tarry.automation.triggered` or `.resolved` of a firing (its id made from the firing's)."""
    name = loaded.record.name if loaded is not None else firing.automation_id
    resource = {
        "tarry.resource.id": f"tarry.automation.{firing.automation_id}",
        "tarry.resource.name": name,
    }
    related: tuple[dict[str, str], ...] = ()
    if firing.event is not None:
        related = (
            {
                "tarry.resource.id": f"tarry.event.{firing.event.id}",
                "tarry.resource.role": "triggering-event",
            },
        )
    payload = {"firing_id": firing.id, "key": firing.key, "context": firing.context}
    return event_records.EventRecord(
        id=str(uuid.uuid5(_EVENTS, firing.id)),
        occurred=firing.at,
        event=f"tarry.automation.{firing.kind}",
        resource=resource,
        related=related,
        payload=json.dumps(payload),
        received=firing.at,
    )
