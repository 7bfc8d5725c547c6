"""Deployments in one process: run_deployment starts a run that a worker executes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from tarry import deployments, flow, send_input
from tarry.states import RunState, StepKind
from tarry.storage import RunFilter
from tarry.testing import TestHarness, tarry_test_harness
from tarry.worker import Worker
from tests.e2e.flows.echo import echo, shout


@pytest.fixture
def served() -> Iterator[TestHarness]:
    """A harness with the echo flow deployed and a worker executing runs."""
    with tarry_test_harness(resident_seconds=60, worker_poll_seconds=0.02) as h:
        deployments.deploy(echo, hst=h.host)
        deployments.deploy(shout, hst=h.host)
        worker = Worker(h.host)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        yield h
        worker.stop()
        h.host.hub.ask_to_suspend()
        thread.join(10)


@flow
def driver() -> str:
    started = deployments.run_deployment("echo/echo", {"n": 1}, timeout=0)
    assert not started.state.is_final  # timeout=0: it returns at once
    send_input("hello", started.id)
    return started.id


def test_run_deployment_in_a_flow_starts_one_run_and_records_it(served: TestHarness) -> None:
    echo_id = served.start(driver).result()

    deadline = time.monotonic() + 10
    while (run := served.store.get_run(echo_id)) is None or not run.state.is_final:
        assert time.monotonic() < deadline, run
        time.sleep(0.02)
    assert run.state.is_completed()
    assert run.result == '["hello"]'
    [driven] = served.store.list_runs(RunFilter(flow_name="driver"))
    kinds = [(s.name, s.kind) for s in served.store.get_steps(driven.id)]
    assert kinds == [("tarry.run_deployment", StepKind.VALUE)]
    assert len(served.store.list_runs(RunFilter(flow_name="echo"))) == 1


def test_run_deployment_waits_for_the_end_by_default(served: TestHarness) -> None:
    ended = deployments.run_deployment("shout/shout", {"text": "hi"}, hst=served.host)

    assert (ended.state, ended.result) == (RunState.COMPLETED, '"HI"')


@flow
def needs_data(data: list[float], title: str = "report") -> str:
    return f"{title}: {sum(data)}"


def test_the_demo_starts_no_run_of_a_flow_whose_parameters_it_cannot_give(
    harness: TestHarness,
) -> None:
    from tarry import server

    bare = deployments.deploy(needs_data, "bare", hst=harness.host)
    filled = deployments.deploy(needs_data, "filled", parameters={"data": [1, 2]}, hst=harness.host)

    started = server.start_demo_runs(harness.host, [bare, filled])

    assert server.missing_parameters(bare) == ["data"]
    assert server.missing_parameters(filled) == []
    assert [json.loads(run.parameters) for run in started] == [{"data": [1.0, 2.0]}]
