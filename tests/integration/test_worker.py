"""A worker's slots: runs that only wait in memory never keep ready runs from starting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tarry import deployments, flow, pause_flow_run
from tarry.states import RunState
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
