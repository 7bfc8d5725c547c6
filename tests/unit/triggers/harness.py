"""An evaluator driven as the runtime drives it: changes applied to a store, maybe rebuilt.

With `rebuild`, a new `Evaluator` is made from the stored states and timers before
every step, as after a crash: the firings must be the same as without.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tarry.triggers import changes, evaluate, models
from tarry.triggers import event as event_module

_ids = itertools.count(1)


def event(
    name: str,
    at: float,
    resource: Mapping[str, str] | None = None,
    related: Sequence[Mapping[str, str]] = (),
    payload: Any = None,
) -> event_module.Event:
    """An event named `name` at `at`, with a resource of its own unless given."""
    number = next(_ids)
    return event_module.Event(
        id=f"e{number}",
        occurred=at,
        event=name,
        resource=dict(resource or {"tarry.resource.id": f"thing.{number}"}),
        related=tuple(dict(each) for each in related),
        payload=json.dumps(payload or {}),
        seq=number,
    )


def flow(name: str) -> dict[str, str]:
    """A related flow resource."""
    return {
        "tarry.resource.id": f"tarry.flow.{name}",
        "tarry.resource.name": name,
        "tarry.resource.role": "flow",
    }


def run_event(state: str, run_id: str, flow_name: str, at: float) -> event_module.Event:
    """A run's state change event, as the store emits it."""
    resource = {"tarry.resource.id": f"tarry.flow-run.{run_id}", "tarry.resource.name": run_id}
    return event(f"tarry.flow-run.{state}", at, resource, [flow(flow_name)])


class Harness:
    """An evaluator, the store its changes go to, and the firings so far."""

    def __init__(self, automations: Mapping[str, models.TriggerTypes], *, rebuild: bool) -> None:
        self.automations = dict(automations)
        self.rebuild = rebuild
        self.states: dict[changes.StateKey, str] = {}
        self.timers: dict[changes.StateKey, float] = {}
        self.firings: list[changes.Firing] = []
        self.evaluator = evaluate.Evaluator(self.automations)

    def feed(self, *events: event_module.Event) -> list[changes.Firing]:
        """Feed events; the firings they caused."""
        before = len(self.firings)
        for each in events:
            self._apply(self.evaluator.feed(each))
        return self.firings[before:]

    def tick(self, now: float) -> list[changes.Firing]:
        """Tick at `now`; the firings it caused."""
        before = len(self.firings)
        self._apply(self.evaluator.tick(now))
        return self.firings[before:]

    def _apply(self, step: changes.Changes) -> None:
        for key, text in step.states.items():
            if text is None:
                self.states.pop(key, None)
            else:
                self.states[key] = text
        for key, due in step.timers.items():
            if due is None:
                self.timers.pop(key, None)
            else:
                self.timers[key] = due
        self.firings.extend(step.firings)
        # The changes describe the whole state: the store equals the evaluator's own.
        assert self.evaluator.snapshot() == (self.states, self.timers)
        if self.rebuild:
            self.evaluator = evaluate.Evaluator(self.automations, self.states, self.timers)
