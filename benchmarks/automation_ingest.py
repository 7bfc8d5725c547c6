"""Ingest with automations: events stored at a steady rate, the evaluator keeping up: one JSON line.

Usage: python automation_ingest.py [RATE=5000] [SECONDS=10]

A fresh database (SQLite, or PostgreSQL with `TARRY_DATABASE_URL`) with the 100
automations of `trigger_eval.py` (each with a `do-nothing` action), and the evaluator
and action runner a worker starts, in this process. A producer stores RATE events a
second (batches of 100, `add_events`) for SECONDS. The lag of a batch is the time from
its commit until the evaluator has read past it (sampled every 5 ms). The target:
5,000 events/s into SQLite with the lag's p99 at most 1 s (issue 19).
"""

from __future__ import annotations

import random
import sys
import threading
import time
import uuid

import trigger_eval
from common import emit, pct, summary
from tarry_env import close_host, open_host, versions

from tarry import automation_runtime, host
from tarry.automation_runtime import loading
from tarry.storage.events import EventRecord
from tarry.triggers import parse

BATCH = 100


def _automations(hst: host.Host) -> None:
    now = time.time()
    for name, trigger in trigger_eval._automations().items():
        spec = parse.AutomationSpec(name=name, trigger=trigger, actions=[{"type": "do-nothing"}])
        record = loading.to_record(
            spec, automation_id=str(uuid.uuid4()), created_at=now, updated_at=now
        )
        hst.store.put_automation(record, create=True)


def _records(count: int) -> list[EventRecord]:
    plain = trigger_eval._stream(count, random.Random(19))
    return [
        EventRecord(str(uuid.uuid4()), 0.0, e.event, e.resource, tuple(e.related), e.payload)
        for e in plain
    ]


def _produce(hst: host.Host, events: list[EventRecord], rate: int) -> list[tuple[int, float]]:
    stored: list[tuple[int, float]] = []
    started = time.perf_counter()
    for first in range(0, len(events), BATCH):
        due = started + first / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        now = time.time()
        batch = [
            EventRecord(e.id, now, e.event, e.resource, e.related, e.payload)
            for e in events[first : first + BATCH]
        ]
        hst.store.add_events(batch)
        stored.append((hst.store.last_event_seq(), time.perf_counter()))
    return stored


def main() -> None:
    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    hst = open_host("tarry-automation-ingest-")
    try:
        _automations(hst)
        events = _records(int(rate * seconds))
        evaluator, _runner = automation_runtime.ensure_automations(hst)
        evaluator.evaluate_once()  # the first round ever: it starts at the newest event
        seen: list[tuple[float, int]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                seen.append((time.perf_counter(), evaluator.read_to))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        stored = _produce(hst, events, rate)
        produced_s = time.perf_counter() - began
        while evaluator.read_to < stored[-1][0] and time.perf_counter() - began < seconds * 10:
            time.sleep(0.01)
        done.set()
        sampler.join()
        lags = [_lag(seq, at, seen) for seq, at in stored]
        emit(
            {
                "bench": "automation_ingest",
                **versions(hst.settings),
                "rate": rate,
                "events": len(events),
                "automations": 100,
                "stored_per_s": round(len(events) / produced_s),
                "lag_ms": {**summary(lags, scale=1e3), "p99": round(pct(lags, 99) * 1e3, 3)},
                "target_p99_ms": 1000,
            }
        )
    finally:
        close_host(hst)


def _lag(seq: int, at: float, seen: list[tuple[float, int]]) -> float:
    for when, read_to in seen:
        if when >= at and read_to >= seq:
            return when - at
    return float("inf")


if __name__ == "__main__":
    main()
