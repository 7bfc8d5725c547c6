"""Trigger evaluation's cost per event (pure: no store, no clock): one JSON line.

Usage: python trigger_eval.py [EVENTS=50000]

100 enabled automations of every kind (40 reactive on run failures and completions per
flow, 20 proactive "no answer within 4 hours" per wait, 20 compound, 10 sequence, 10
metric "successes < 70 %"), fed a stream of run state changes over 20 flows, waits
opened and answered, user events and unrelated ones, with a tick every 200 events (one
simulated second). Times `Evaluator.feed` and `tick`, including the JSON of the changed
states, in µs per event, as medians of batches. The budget: 5,000 events/s with 100
automations (issue 19), i.e. 200 µs per event for everything, evaluation a part of it.
"""

from __future__ import annotations

import datetime
import random
import sys
import time

from common import emit, summary

from tarry import _version
from tarry.triggers import changes, evaluate, models, parse
from tarry.triggers import event as event_module

BATCHES = 20
#: Events between ticks (one simulated second at 200 events a second).
TICK_EVERY = 200
FLOWS = [f"flow-{i}" for i in range(20)]


def _automations() -> dict[str, models.TriggerTypes]:
    found: dict[str, models.TriggerTypes] = {}
    for i in range(40):
        found[f"reactive-{i}"] = parse.parse_trigger(
            {
                "expect": ["prefect.flow-run.Failed" if i % 2 else "prefect.flow-run.Completed"],
                "match_related": {
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": FLOWS[i % 20],
                },
                "for_each": ["prefect.resource.id"],
                "threshold": 3,
                "within": 60,
            }
        )
    for i in range(20):
        found[f"proactive-{i}"] = parse.parse_trigger(
            {
                "posture": "Proactive",
                "after": ["prefect.input.requested"],
                "expect": ["prefect.input.answered"],
                "for_each": ["prefect.resource.id"],
                "match_related": {
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": FLOWS[i],
                },
                "within": 4 * 3600,
            }
        )
    for i in range(30):
        children = [
            {
                "expect": [f"app.export.{i}.{part}"],
                "match_related": {"prefect.resource.role": "flow"},
            }
            for part in ("a", "b")
        ]
        if i < 20:
            found[f"compound-{i}"] = parse.parse_trigger(
                {"type": "compound", "require": "all", "within": 3600, "triggers": children}
            )
        else:
            found[f"sequence-{i}"] = parse.parse_trigger(
                {"type": "sequence", "within": 600, "triggers": children}
            )
    for i in range(10):
        found[f"metric-{i}"] = parse.parse_trigger(
            {
                "posture": "Metric",
                "metric": {
                    "name": "successes",
                    "threshold": 0.7,
                    "operator": "<",
                    "range": 600,
                    "firing_for": 60,
                },
                "match_related": {
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": FLOWS[i],
                },
            }
        )
    return found


def _flow(name: str) -> dict[str, str]:
    return {
        "tarry.resource.id": f"tarry.flow.{name}",
        "tarry.resource.name": name,
        "tarry.resource.role": "flow",
    }


def _stream(count: int, rng: random.Random) -> list[event_module.Event]:
    events: list[event_module.Event] = []
    for n in range(count):
        at = 1_700_000_000.0 + n / 200
        kind = rng.random()
        flow_name = rng.choice(FLOWS)
        related = (_flow(flow_name),)
        if kind < 0.6:
            run = f"run-{rng.randrange(count // 3)}"
            state = rng.choice(["Pending", "Running", "Completed", "Completed", "Failed"])
            name, resource = (
                f"tarry.flow-run.{state}",
                {"tarry.resource.id": f"tarry.flow-run.{run}"},
            )
        elif kind < 0.75:
            wait = f"w-{rng.randrange(count // 10)}"
            name = rng.choice(["tarry.input.requested", "tarry.input.answered"])
            resource = {"tarry.resource.id": f"tarry.input.{wait}"}
        elif kind < 0.9:
            name = f"app.export.{rng.randrange(40)}.{rng.choice('ab')}"
            resource = {"tarry.resource.id": f"app.file.{n}"}
        else:
            name, resource = "tarry.deployment.updated", {"tarry.resource.id": "tarry.deployment.x"}
        events.append(event_module.Event(f"e{n}", at, name, resource, related, "{}", n + 1))
    return events


def _run(events: list[event_module.Event]) -> tuple[list[float], int, int]:
    evaluator = evaluate.Evaluator(_automations())
    per_batch = max(1, len(events) // BATCHES)
    samples, firings, written = [], 0, 0
    for start in range(0, len(events) - per_batch + 1, per_batch):
        batch = events[start : start + per_batch]
        began = time.perf_counter()
        step = changes.Changes()
        # As the runtime does: a tick, then the events read since, at most 500 at once.
        for first in range(0, len(batch), TICK_EVERY):
            chunk = batch[first : first + TICK_EVERY]
            step.merge(evaluator.tick(chunk[0].occurred))
            step.merge(evaluator.feed_many(chunk))
        samples.append((time.perf_counter() - began) / len(batch))
        firings += len(step.firings)
        written += len(step.states)
    return samples, firings, written


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    events = _stream(count, random.Random(19))
    samples, firings, written = _run(events)
    per_event = summary(samples, scale=1e6)
    emit(
        {
            "bench": "trigger_eval",
            "engine": "tarry",
            "version": _version.__version__,
            "events": count,
            "automations": 100,
            "us_per_event": per_event,
            "events_per_s": round(1e6 / per_event["median"]),
            "firings": firings,
            "state_writes": written,
            "budget_us": 200,
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
    )


if __name__ == "__main__":
    main()
