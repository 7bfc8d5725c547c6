"""A worker's slots: runs that only wait in memory never keep ready runs from starting.

And what a claimed run reads: only a run that started before has a journal to read; and
how often a worker that finds nothing claims again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tarry import deployments, flow, pause_flow_run
from tarry.states import RunState
from tarry.storage import records, wakeups
from tarry.testing import TestHarness, tarry_test_harness
from tarry.worker import Worker


@flow
def asks(n: int) -> str:
    answer: str = pause_flow_run(str, timeout=3600, key="name")
    return f"{n}: {answer}"


@pytest.fixture
def two_slots() -> Iterator[tuple[TestHarness, Worker]]:
    """A worker with two slots, whose waiting runs would stay in memory for an hour."""
    with tarry_test_harness(resident_seconds=3600, worker_poll_seconds=0.02) as h:
        deployments.deploy(asks, "slots", hst=h.host)
        worker = Worker(h.host, max_runs=2)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        yield h, worker
        worker.stop()
        h.host.hub.ask_to_suspend()
        thread.join(10)


def test_ready_runs_start_although_every_slot_holds_a_waiting_run(
    two_slots: tuple[TestHarness, Worker],
) -> None:
    harness, _ = two_slots
    runs = [deployments.start("asks/slots", {"n": n}, hst=harness.host) for n in range(6)]

    for run in runs:
        harness.wait_for_state(run.id, RunState.WAITING, timeout=10)
    # The two slots hold at most two runs in memory; the rest left it to make room.
    assert harness.host.hub.resident() <= 2

    for run in runs:
        harness.answer(run.id, "Ann", key="name")
    for n, run in enumerate(runs):
        done = harness.wait_for_state(run.id, RunState.COMPLETED, timeout=10)
        assert done.result == f'"{n}: Ann"'
        # Claimed now, not at some other time the claim was given.
        assert done.started_at is not None
        assert abs(done.started_at - time.time()) < 60


def test_runs_waiting_in_memory_stay_there_while_nothing_else_is_ready(
    two_slots: tuple[TestHarness, Worker],
) -> None:
    harness, _ = two_slots
    runs = [deployments.start("asks/slots", {"n": n}, hst=harness.host) for n in range(2)]
    for run in runs:
        harness.wait_for_state(run.id, RunState.WAITING, timeout=10)

    harness.wait_until(lambda: harness.host.hub.resident() == 2)
    threading.Event().wait(0.3)  # several claim rounds of the worker
    assert harness.host.hub.resident() == 2


@flow
def greets(n: int) -> str:
    return f"hello {n}"


def test_a_worker_reads_the_journal_only_of_runs_that_started_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tarry_test_harness(resident_seconds=0, worker_poll_seconds=0.02) as h:
        deployments.deploy(greets, "fresh", hst=h.host)
        deployments.deploy(asks, "again", hst=h.host)
        store = h.host.store
        read: list[str] = []
        real_get_steps = store.get_steps

        def get_steps(run_id: str) -> list[records.StepRecord]:
            read.append(run_id)
            return real_get_steps(run_id)

        monkeypatch.setattr(store, "get_steps", get_steps)
        worker = Worker(h.host, max_runs=2)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            fresh = deployments.start("greets/fresh", {"n": 1}, hst=h.host)
            again = deployments.start("asks/again", {"n": 2}, hst=h.host)
            assert h.wait_for_state(fresh.id, RunState.COMPLETED).result == '"hello 1"'
            h.wait_for_state(again.id, RunState.WAITING)
            h.wait_until(lambda: h.host.hub.resident() == 0)
            h.answer(again.id, "Bo", key="name")
            assert h.wait_for_state(again.id, RunState.COMPLETED).result == '"2: Bo"'
        finally:
            worker.stop()
            thread.join(10)

    # Claimed for the first time, neither had a journal to read; resumed after its
    # answer, the waiting run replays its journal.
    assert read.count(fresh.id) == 0
    assert read.count(again.id) >= 1


def test_a_worker_that_finds_nothing_does_not_claim_at_every_announcement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tarry_test_harness(worker_poll_seconds=1.0) as h:
        claims: list[float] = []
        real_claim_runs = h.host.store.claim_runs

        def claim_runs(*args: Any, **kwargs: Any) -> list[records.RunRecord]:
            claims.append(time.monotonic())
            return real_claim_runs(*args, **kwargs)

        monkeypatch.setattr(h.host.store, "claim_runs", claim_runs)
        worker = Worker(h.host)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            h.wait_until(lambda: len(claims) >= 1)
            # A hundred runs announced over 0.2 s, all taken by other workers.
            for _ in range(100):
                worker._on_wake(wakeups.Wake("run_ready", "elsewhere"))
                time.sleep(0.002)
        finally:
            worker.stop()
            thread.join(10)

    # One claim per pause (10 ms) at most, not one per announcement.
    assert len(claims) <= 1 + 0.3 / 0.01


@pytest.mark.parametrize(("ready", "again"), [(1, False), (2, True)], ids=["fewer", "all"])
def test_only_a_claim_that_filled_every_slot_asked_for_is_repeated_at_once(
    ready: int, again: bool
) -> None:
    with tarry_test_harness() as h:
        deployments.deploy(greets, "slots", hst=h.host)
        worker = Worker(h.host, max_runs=2)
        for n in range(ready):
            deployments.start("greets/slots", {"n": n}, hst=h.host)

        claimed = worker.claim()
        worker.stop()
        worker._pool.shutdown(wait=True)

    # Fewer than asked: nothing else was ready, and what becomes ready announces itself.
    assert len(claimed) == ready
    assert worker._maybe_more is again
