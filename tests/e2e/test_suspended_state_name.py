"""A waiting run reads as Prefect's `Paused`, then `Suspended`, through the API and client.

Prefect shows a paused run's state as type PAUSED named "Paused", and a suspended one
(`suspend_flow_run`, or a pause that left its process) as type PAUSED named "Suspended".
tarry stores one `Waiting` state: the API keeps `state: "Waiting"` unchanged and adds
`state_name`, Prefect's name, by whether a process still holds the run.
"""

from __future__ import annotations

import httpx

from tarry import flow, pause_flow_run, suspend_flow_run
from tarry.client import Client
from tarry.states import RunState, shown_name
from tarry.testing import tarry_test_harness
from tests.e2e import live


@flow
def asks() -> str:
    return str(pause_flow_run(str, timeout=None))


def test_the_api_names_a_waiting_run_paused_then_suspended() -> None:
    with (
        tarry_test_harness(fake_clock=True, resident_seconds=7200) as harness,
        live.live_server(harness.host, worker=False) as base_url,
        Client(f"{base_url}/api") as client,
    ):
        run = harness.start(asks)
        run.wait_for(RunState.WAITING)

        paused = client.read_flow_run(run.id)
        suspend_flow_run(flow_run_id=run.id)
        suspended = client.read_flow_run(run.id)
        raw = httpx.get(f"{base_url}/api/runs/{run.id}").json()["run"]

        assert (paused.state, paused.state_name) == (RunState.WAITING, "Paused")
        assert (suspended.state, suspended.state_name) == (RunState.WAITING, "Suspended")
        assert (raw["state"], raw["state_name"]) == ("Waiting", "Suspended")
        harness.answer(run.id, "done")
        assert run.result() == "done"
        assert client.read_flow_run(run.id).state_name == "Completed"


def test_every_other_state_keeps_its_own_name() -> None:
    for state in RunState:
        if state is not RunState.WAITING:
            assert shown_name(state, in_memory=True) == shown_name(state, in_memory=False)
            assert shown_name(state, in_memory=False) == state.value
