"""Event ingest with 100 automations enabled, and the evaluator's lag: one JSON line.

Usage: python event_ingest.py [SECONDS=20] [RATE=6000] [THREADS=8] [emit|batch]

A fresh database (SQLite, or PostgreSQL with `TARRY_DATABASE_URL`) with 100 enabled
automations (80 event triggers on 40 names, some `for_each` or with a threshold, 10
compound, 10 metric), all acting `do-nothing`, and the evaluator and action runner a worker
starts, in this process. THREADS threads call `tarry.events.emit_event` at RATE events per
second in all for SECONDS (the store group-commits concurrent calls); `batch` has each
thread store 50 events a call through `event_service.store_events` (what `emit_event`
calls, with a list) instead. A sampler thread
notes, every 5 ms, the last stored `seq` and the evaluator's read position, so each event
has a stored time and a time the evaluator passed it (both to 5 ms). Reports events/s
stored, the lag (stored -> passed) median/p99/max and the firings. The budget (issue 19):
>= 5,000 events/s on SQLite with lag p99 <= 1 s.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Any

from common import emit, pct, summary
from tarry_env import close_host, open_host, versions

from tarry import automation_runtime, event_service, events, host
from tarry.storage import automations as records
from tarry.storage.events import EventRecord
from tarry.triggers import parse

NAMES = 40
SAMPLE_SECONDS = 0.005
BATCH = 50


def _triggers() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for i in range(80):
        trigger: dict[str, Any] = {"type": "event", "expect": [f"bench.evt.{i % NAMES}"]}
        if i % 4 == 1:
            trigger |= {"for_each": ["prefect.resource.id"], "threshold": 10, "within": 60}
        elif i % 4 == 2:
            trigger |= {"threshold": 50, "within": 30}
        elif i % 4 == 3:
            trigger["match"] = {"prefect.resource.id": f"bench.thing.{i % 50}"}
        found.append(trigger)
    for i in range(10):
        children = [{"expect": [f"bench.evt.{(i + k) % NAMES}"]} for k in (0, 7)]
        found.append({"type": "compound", "require": "all", "within": 60, "triggers": children})
    for i in range(10):
        metric = {"name": "successes", "threshold": 0.7, "operator": "<", "range": 600}
        related = {"prefect.resource.role": "flow", "prefect.resource.name": f"flow-{i}"}
        found.append({"posture": "Metric", "metric": metric, "match_related": related})
    return found


def _store_automations(hst: host.Host) -> None:
    now = time.time()
    for i, trigger in enumerate(_triggers()):
        spec = parse.parse_automation(
            {"name": f"a-{i}", "trigger": trigger, "actions": [{"type": "do-nothing"}]}
        )
        record = records.AutomationRecord(
            id=str(uuid.uuid4()),
            name=spec.name,
            description="",
            enabled=True,
            trigger=spec.trigger.model_dump_json(),
            actions=json.dumps([a.model_dump(mode="json") for a in spec.actions]),
            actions_on_trigger="[]",
            actions_on_resolve="[]",
            created_at=now,
            updated_at=now,
        )
        assert hst.store.put_automation(record, create=True)


def _name(n: int, index: int) -> str:
    return f"bench.evt.{(n * 7 + index) % (NAMES + 10)}"  # a fifth match no trigger


def _emitter(index: int, rate: float, until: float, counts: list[int]) -> None:
    began, n = time.monotonic(), 0
    while time.monotonic() < until:
        n += 1
        events.emit_event(
            _name(n, index),
            {"tarry.resource.id": f"bench.thing.{n % 50}"},
            payload={"n": n, "thread": index},
        )
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
    counts[index] = n


def _batcher(index: int, rate: float, until: float, counts: list[int]) -> None:
    began, n = time.monotonic(), 0
    hst = host.get_host()
    while time.monotonic() < until:
        batch = [
            EventRecord(
                id=str(uuid.uuid4()),
                occurred=time.time(),
                event=_name(n + k, index),
                resource={"tarry.resource.id": f"bench.thing.{(n + k) % 50}"},
                payload=json.dumps({"n": n + k, "thread": index}),
            )
            for k in range(1, BATCH + 1)
        ]
        n += event_service.store_events(hst, batch)
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
    counts[index] = n


class _Sampler(threading.Thread):
    """Notes when each seq was stored and when the evaluator passed it."""

    def __init__(self, hst: host.Host, evaluator: automation_runtime.AutomationEvaluator) -> None:
        super().__init__(daemon=True)
        self.hst, self.evaluator = hst, evaluator
        self.stored: dict[int, float] = {}
        self.lags: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        last_stored = last_read = self.hst.store.last_event_seq()
        while not self.stop.wait(SAMPLE_SECONDS):
            now = time.monotonic()
            seq = self.hst.store.last_event_seq()
            for s in range(last_stored + 1, seq + 1):
                self.stored[s] = now
            last_stored = max(last_stored, seq)
            # The evaluator's read position (the stored cursor moves only with a commit).
            read = self.evaluator._read_to
            for s in range(last_read + 1, read + 1):
                if s in self.stored:
                    self.lags.append(now - self.stored.pop(s))
            last_read = max(last_read, read)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 6000.0
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    mode = sys.argv[4] if len(sys.argv) > 4 else "emit"
    target = _batcher if mode == "batch" else _emitter
    hst = open_host("tarry-event-ingest-")
    try:
        _store_automations(hst)
        evaluator, _ = automation_runtime.ensure_automations(hst)
        time.sleep(1.5)  # the automations are read
        sampler = _Sampler(hst, evaluator)
        sampler.start()
        counts = [0] * threads
        began = time.monotonic()
        until = began + seconds
        pool = [
            threading.Thread(target=target, args=(i, rate / threads, until, counts))
            for i in range(threads)
        ]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        emitted_s = time.monotonic() - began
        deadline = time.monotonic() + 60
        while sampler.stored and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.stop.set()
        sampler.join()
        stored = sum(counts)
        state = hst.store.evaluator_state()
        emit(
            {
                "bench": "event_ingest",
                **versions(hst.settings),
                "automations": 100,
                "threads": threads,
                "emit_mode": mode,
                "rate_asked": rate,
                "events": stored,
                "events_per_s": round(stored / emitted_s, 1),
                "lag_ms": summary(sampler.lags, scale=1e3) | {"p99": pct(sampler.lags, 99) * 1e3},
                "not_passed": len(sampler.stored),
                "cursor": state.cursor,
                "firings": sum(len(hst.store.firings_of(a.id, 100000)) for a in _listed(hst)),
            }
        )
    finally:
        close_host(hst)


def _listed(hst: host.Host) -> list[records.AutomationRecord]:
    return hst.store.list_automations()


if __name__ == "__main__":
    main()
