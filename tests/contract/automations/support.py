"""Builders of automation records for the automation contract tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from tarry.storage import automations
from tests.contract.support import T0

T = TypeVar("T")

TRIGGER = '{"type": "event", "expect": ["tarry.flow-run.Failed"], "threshold": 1, "within": 0}'
"""A trigger's JSON text: storage keeps it as it is."""


def automation(
    automation_id: str,
    name: str,
    *,
    description: str = "",
    enabled: bool = True,
    trigger: str = TRIGGER,
) -> automations.AutomationRecord:
    """An automation created at `T0` that runs one action."""
    return automations.AutomationRecord(
        id=automation_id,
        name=name,
        description=description,
        enabled=enabled,
        trigger=trigger,
        actions='[{"type": "cancel-flow-run", "source": "inferred"}]',
        actions_on_trigger="[]",
        actions_on_resolve="[]",
        created_at=T0,
        updated_at=T0,
    )


def firing(
    firing_id: str, automation_id: str, *, fired_at: float = T0, kind: str = "triggered"
) -> automations.FiringRecord:
    """A firing of `automation_id` caused by one event."""
    return automations.FiringRecord(
        id=firing_id,
        automation_id=automation_id,
        fired_at=fired_at,
        kind=kind,
        key="root",
        triggering_event='{"event": "tarry.flow-run.Failed", "id": "e1"}',
        context='{"flow_run": {"id": "r1"}}',
    )


def actions_of(firing_id: str, count: int, *, due_at: float = T0) -> list[automations.ActionRecord]:
    """`count` pending actions of a firing, due at `due_at`."""
    return [
        automations.ActionRecord(
            firing_id, index, f'{{"type": "do-nothing", "n": {index}}}', due_at=due_at
        )
        for index in range(count)
    ]


def evaluation(
    before: int,
    after: int,
    *,
    put_states: Sequence[automations.TriggerStateRecord] = (),
    delete_states: Sequence[automations.StateKey] = (),
    put_timers: Sequence[automations.AutomationTimer] = (),
    delete_timers: Sequence[automations.StateKey] = (),
    firings: Sequence[tuple[automations.FiringRecord, Sequence[automations.ActionRecord]]] = (),
) -> automations.EvaluationCommit:
    """An evaluation step from cursor `before` to `after`, committed at `T0`."""
    return automations.EvaluationCommit(
        cursor_before=before,
        cursor_after=after,
        put_states=put_states,
        delete_states=delete_states,
        put_timers=put_timers,
        delete_timers=delete_timers,
        firings=firings,
        at=T0,
    )


def at_once(*calls: Callable[[], T]) -> list[T | Exception]:
    """Run each call on a thread of its own, all released at once; what each returned or raised."""
    start = threading.Barrier(len(calls))
    outcomes: list[T | Exception] = [RuntimeError("did not run")] * len(calls)

    def run(n: int) -> None:
        start.wait()
        try:
            outcomes[n] = calls[n]()
        except Exception as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
