"""Metric triggers: a measure of the matching runs over `range`, checked on a timer.

The measure comes from runs' own events (`tarry.flow-run.<State>`): `successes` is
the share of ended runs (Completed, Failed, Crashed; a Cancelled run was stopped by
someone and counts neither way) that completed, `duration` the mean seconds from
Running to the end, `lateness` the mean seconds from Pending to Running. The state
keeps one sample per ended (or started) run inside `range`, and the runs under way.
Every check (each `range / 10` seconds, 5 to 60) compares the measure with the
threshold: a breach held `firing_for` seconds fires once; the breach's end held as
long resolves. With no samples there is no breach. The timer stops once there is
nothing left to watch, and the next matching event starts it again.

Samples are summed in slots of a quarter of the check interval (`[slot start, sum,
count]`), so the state stays small however many runs end: the range is kept to within
one slot (a slot leaves when all of it is older than the range).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from tarry.triggers import book as book_module
from tarry.triggers import event as event_module
from tarry.triggers import matching, models, nodes

__all__ = ["MetricNode", "check_interval"]

_RUNS = "tarry.flow-run."
_ENDED = {"Completed", "Failed", "Crashed"}
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: A run under way longer than this is no longer waited for (its end is lost, say).
_FORGET_RUNS_AFTER = 86_400.0


def check_interval(query: models.MetricTriggerQuery) -> float:
    """Seconds between checks: a tenth of the range, from 5 to 60."""
    return min(60.0, max(5.0, query.range.total_seconds() / 10))


class MetricNode:
    """A compiled `MetricTrigger`.

    Args:
        automation_id: Its automation.
        node_id: `<trigger hash>:<path>`.
        trigger: The trigger.
        emit: Where it reports a firing or a resolution.
    """

    @property
    def names(self) -> set[str]:
        """It reads runs' state events."""
        return {_RUNS + "*"}

    def __init__(
        self, automation_id: str, node_id: str, trigger: models.MetricTrigger, emit: nodes.Emit
    ) -> None:
        self.automation_id = automation_id
        self.node_id = node_id
        self._query = trigger.metric
        self._emit = emit
        self._match = matching.Spec(trigger.match)
        self._related = matching.related_matcher(trigger)
        self.related_key = matching.related_key(self._related)
        self._range = trigger.metric.range.total_seconds()
        self._firing_for = trigger.metric.firing_for.total_seconds()
        self._interval = check_interval(trigger.metric)
        self._slot = self._interval / 4
        self._compare = _OPERATORS[trigger.metric.operator]

    def on_event(self, book: book_module.Book, seen: event_module.EventLike) -> None:
        """Take a run's state change into the samples."""
        if not seen.event.startswith(_RUNS) or not self._covers(seen):
            return
        state_key = (self.automation_id, self.node_id)
        state = book.get(state_key) or _empty()
        run = seen.resource.get("tarry.resource.id", "")
        if self._sample(state, run, seen.event[len(_RUNS) :], seen.occurred):
            state["event"] = event_module.event_to_dict(seen)
        book.put(state_key, state)
        if book.timer(state_key) is None:
            book.set_timer(state_key, seen.occurred + self._interval)

    def on_timer(self, book: book_module.Book, key: str, now: float) -> None:
        """Check the measure, fire or resolve, and set the next check."""
        state_key = (self.automation_id, key)
        state = book.get(state_key)
        if state is None:
            return
        _trim(state, now - self._range, self._slot)
        value = _mean(state["samples"])
        if value is not None and self._compare(value, self._query.threshold):
            self._breaching(book, state, now, value)
        else:
            self._clear(book, state, now, value)
        if not (state["samples"] or state["runs"] or state["fired"] or state["since"]):
            book.delete(state_key)
            return
        book.put(state_key, state)
        book.set_timer(state_key, now + self._interval)

    def _covers(self, seen: event_module.EventLike) -> bool:
        if not self._match.fits(seen.resource):
            return False
        return all(spec.fits_any(seen.related) for spec in self._related)

    def _sample(self, state: dict[str, Any], run: str, stage: str, at: float) -> bool:
        name = self._query.name
        runs: dict[str, float] = state["runs"]
        if name == "successes":
            if stage not in _ENDED:
                return False
            self._add(state["samples"], at, 1.0 if stage == "Completed" else 0.0)
            return True
        started = "Running" if name == "duration" else "Pending"
        finished = _ENDED if name == "duration" else {"Running"}
        if stage == started:
            runs.setdefault(run, at)
        elif stage in finished and run in runs:
            self._add(state["samples"], at, at - runs.pop(run))
            return True
        return False

    def _add(self, samples: list[list[float]], at: float, value: float) -> None:
        slot = at - at % self._slot
        for each in reversed(samples):
            if each[0] == slot:
                each[1] += value
                each[2] += 1
                return
        samples.append([slot, value, 1])

    def _breaching(
        self, book: book_module.Book, state: dict[str, Any], now: float, value: float
    ) -> None:
        state["clear_since"] = None
        state["since"] = state["since"] if state["since"] is not None else now
        if not state["fired"] and now - state["since"] >= self._firing_for:
            state["fired"] = True
            self._report(book, state, now, value, "triggered")

    def _clear(
        self, book: book_module.Book, state: dict[str, Any], now: float, value: float | None
    ) -> None:
        state["since"] = None
        if not state["fired"]:
            return
        if state["clear_since"] is None:
            state["clear_since"] = now
        if now - state["clear_since"] >= self._firing_for:
            state["fired"] = False
            state["clear_since"] = None
            self._report(book, state, now, value, "resolved")

    def _report(
        self,
        book: book_module.Book,
        state: dict[str, Any],
        now: float,
        value: float | None,
        kind: nodes.Kind,
    ) -> None:
        stored = state.get("event")
        triggering = None if stored is None else event_module.event_from_dict(stored)
        context = {
            "trigger": self.node_id.partition(":")[2],
            "metric": {
                "name": self._query.name,
                "value": value,
                "threshold": self._query.threshold,
                "operator": self._query.operator,
                "range": self._range,
                "firing_for": self._firing_for,
                "samples": int(sum(count for _, _, count in state["samples"])),
            },
        }
        self._emit(book, nodes.Signal(self.node_id, now, triggering, context, kind))


def _empty() -> dict[str, Any]:
    return {"samples": [], "runs": {}, "since": None, "clear_since": None, "fired": False}


def _trim(state: dict[str, Any], horizon: float, slot: float) -> None:
    state["samples"] = [sample for sample in state["samples"] if sample[0] + slot > horizon]
    forget = horizon - _FORGET_RUNS_AFTER
    state["runs"] = {run: at for run, at in state["runs"].items() if at >= forget}


def _mean(samples: list[list[float]]) -> float | None:
    count = sum(each[2] for each in samples)
    return sum(each[1] for each in samples) / count if count else None
