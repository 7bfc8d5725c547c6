"""The Durable Task approval service (seeds/004): a real `tarry server`, the real app, HTTP calls.

The server runs with the workflow deployed and the app runs under uvicorn, each in
its own process on a loopback port; the tests call the app as the seed's curl
commands do.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry.client import Client
from tarry.states import RunState, WaitKind, WaitStatus
from tests.conftest import ROOT, subprocess_env
from tests.net import free_port
from tests.processes import SLOW, served_process, tarry_server

WORKFLOW = "examples/approval_service/workflow.py"
APP = "examples/approval_service/app.py"
DEPLOYMENT = "approval-workflow/workflow"


# -- processes -------------------------------------------------------------------------------


@contextlib.contextmanager
def _app(home: Path, api: str) -> Iterator[str]:
    """`python app.py --port PORT` talking to the server at `api`; yields its base URL."""
    port = free_port()
    command = [sys.executable, APP, "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with served_process(command, subprocess_env(home, TARRY_API_URL=api), f"{base}/openapi.json"):
        yield base


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TARRY_HOME of this module's server."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[str]:
    """`tarry server --deploy .../workflow.py:approval_workflow`; its API URL."""
    with tarry_server(home, "--deploy", f"{WORKFLOW}:approval_workflow") as url:
        yield url


@pytest.fixture(scope="module")
def app(home: Path, api: str) -> Iterator[httpx.Client]:
    """The approval service on the server, as an HTTP client of its base URL."""
    with _app(home, api) as base, httpx.Client(base_url=base, timeout=SLOW) as client:
        yield client


# -- calls, as the seed's curl commands ------------------------------------------------------


def _create(app: httpx.Client, timeout_hours: float = 1.0) -> dict[str, Any]:
    body = {"requester": "Alice", "item": "Vacation Request", "timeout_hours": timeout_hours}
    created = app.post("/api/requests", json=body)
    assert created.status_code == 201, created.text
    found: dict[str, Any] = created.json()
    return found


def _decide(app: httpx.Client, request_id: str, body: Any) -> httpx.Response:
    return app.post(f"/api/approvals/{request_id}", json=body)


def _status(app: httpx.Client, request_id: str) -> dict[str, Any]:
    answer = app.get(f"/api/requests/{request_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _until(app: httpx.Client, request_id: str, done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + SLOW
    while not done(status := _status(app, request_id)):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


def _decided(app: httpx.Client, request_id: str) -> dict[str, Any]:
    found: dict[str, Any] = _until(app, request_id, lambda s: s["status"] != "pending")
    return found


def _waiting(app: httpx.Client, request_id: str) -> None:
    _until(app, request_id, lambda s: s["run_state"] == RunState.WAITING.value)


APPROVE = {"is_approved": True, "approver": "Manager", "comments": "Approved!"}


# -- the tests -------------------------------------------------------------------------------


def test_an_approved_request_completes_approved_and_its_timer_never_fires(
    app: httpx.Client, api: str
) -> None:
    timeout_hours = 0.001  # 3.6 s: the approval comes well before
    created = _create(app, timeout_hours)
    request_id = created["request_id"]
    base = str(app.base_url).rstrip("/")
    assert created["status"] == "pending"
    assert created["approval_url"] == f"{base}/api/approvals/{request_id}"
    assert created["status_url"] == f"{base}/api/requests/{request_id}"

    sent = _decide(app, request_id, APPROVE)
    assert sent.status_code == 200, sent.text
    status = _decided(app, request_id)
    assert status["status"] == "approved"
    assert status["run_state"] == "Completed"
    assert (status["requester"], status["item"]) == ("Alice", "Vacation Request")
    result = status["result"]
    assert result["status"] == "approved"
    assert (result["approver"], result["comments"]) == ("Manager", "Approved!")
    assert result["request_id"] == request_id

    time.sleep(timeout_hours * 3600 + 1)  # the deadline passes
    assert _status(app, request_id) == status
    with Client(api) as client:
        detail = client.read_flow_run_detail(request_id)
    waits = {w.kind: w for w in detail.waits}
    assert waits[WaitKind.INPUT].status is WaitStatus.ANSWERED
    assert waits[WaitKind.INPUT].responder == "Manager"
    assert waits[WaitKind.TIMER].status is WaitStatus.CANCELLED
    assert "process_timeout" not in {step.name for step in detail.steps}


def test_a_rejected_request_completes_rejected(app: httpx.Client) -> None:
    request_id = _create(app)["request_id"]
    _waiting(app, request_id)

    no = {"is_approved": False, "approver": "Manager", "comments": "Not this month"}
    assert _decide(app, request_id, no).status_code == 200

    status = _decided(app, request_id)
    assert status["status"] == "rejected"
    assert status["result"]["status"] == "rejected"
    assert status["result"]["comments"] == "Not this month"
    again = _decide(app, request_id, APPROVE)
    assert again.status_code == 409
    assert _status(app, request_id)["status"] == "rejected"


def test_an_unanswered_request_times_out_and_refuses_a_late_approval(app: httpx.Client) -> None:
    request_id = _create(app, timeout_hours=0.0005)["request_id"]  # 1.8 s

    status = _decided(app, request_id)
    assert status["status"] == "timeout"
    assert status["result"]["status"] == "timeout"
    assert status["result"]["approver"] is None

    late = _decide(app, request_id, APPROVE)
    assert late.status_code == 409
    assert "already decided: timeout" in late.json()["detail"]
    assert _status(app, request_id) == status


def test_an_invalid_approval_gets_field_errors_and_the_request_keeps_waiting(
    app: httpx.Client,
) -> None:
    request_id = _create(app)["request_id"]
    _waiting(app, request_id)

    invalid = _decide(app, request_id, {"is_approved": "maybe", "comments": 3})
    headers = {"Content-Type": "application/json"}
    not_json = app.post(f"/api/approvals/{request_id}", content=b"{oops", headers=headers)

    assert invalid.status_code == 422
    assert {tuple(e["loc"]) for e in invalid.json()["errors"]} == {
        ("is_approved",),
        ("approver",),
        ("comments",),
    }
    assert not_json.status_code == 422
    assert not_json.json()["errors"] == [
        {"loc": [], "msg": "JSON decode error", "type": "json_invalid"}
    ]
    assert _status(app, request_id)["status"] == "pending"
    assert _decide(app, request_id, APPROVE).status_code == 200
    assert _decided(app, request_id)["status"] == "approved"


def test_an_invalid_request_gets_field_errors(app: httpx.Client) -> None:
    bad = {"requester": "", "timeout_hours": -1}
    refused = app.post("/api/requests", json=bad)
    assert refused.status_code == 422
    assert {tuple(e["loc"]) for e in refused.json()["errors"]} == {
        ("requester",),
        ("item",),
        ("timeout_hours",),
    }


def test_unknown_requests_are_not_found(app: httpx.Client) -> None:
    request_id = _create(app)["request_id"]
    for unknown in ("no-such-request", request_id[:8]):  # a request is named by its full id
        assert app.get(f"/api/requests/{unknown}").status_code == 404
        assert _decide(app, unknown, APPROVE).status_code == 404
    assert _decide(app, request_id, APPROVE).status_code == 200


def test_without_a_tarry_server_the_app_says_so(home: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/api"
    with _app(home, nobody) as base:
        created = httpx.post(f"{base}/api/requests", json={"requester": "A", "item": "B"})
        status = httpx.get(f"{base}/api/requests/some-id")
    assert (created.status_code, status.status_code) == (503, 503)
    assert "no tarry server answers" in created.json()["detail"]


def test_a_request_outlives_a_restart_of_the_server(tmp_path: Path) -> None:
    port = free_port()
    deploy = ("--deploy", f"{WORKFLOW}:approval_workflow")
    with (
        _app(tmp_path, f"http://127.0.0.1:{port}/api") as base,
        httpx.Client(base_url=base, timeout=SLOW) as app,
    ):
        with tarry_server(tmp_path, *deploy, port=port):
            request_id = _create(app)["request_id"]
            _waiting(app, request_id)
        assert app.get(f"/api/requests/{request_id}").status_code == 503

        with tarry_server(tmp_path, *deploy, port=port):
            assert _status(app, request_id)["status"] == "pending"
            assert _decide(app, request_id, APPROVE).status_code == 200
            assert _decided(app, request_id)["status"] == "approved"


def test_the_workflow_script_is_the_worker(tmp_path: Path) -> None:
    """`python workflow.py` deploys the flow and executes its runs; the server only serves."""
    env = subprocess_env(tmp_path)
    with tarry_server(tmp_path, "--max-runs", "0") as api, Client(api) as client:
        worker = subprocess.Popen([sys.executable, WORKFLOW], env=env, cwd=ROOT)
        try:
            _until_deployed(client, worker)
            params = {"requester": "Al", "item": "x"}
            run = client.create_flow_run_from_deployment(DEPLOYMENT, params)
            client.resume_flow_run(run.id, APPROVE, key="approval")
            ended = _until_ended(client, run.id)
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(SLOW)
    assert ended.state is RunState.COMPLETED
    assert ended.result["status"] == "approved"
    assert worker.returncode == 0


def _until_deployed(client: Client, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SLOW
    while DEPLOYMENT not in {d.name for d in client.list_deployments()}:
        assert worker.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, "the worker did not deploy the flow"
        time.sleep(0.05)


def _until_ended(client: Client, run_id: str) -> Any:
    deadline = time.monotonic() + SLOW
    while not (run := client.read_flow_run(run_id)).state.is_final:
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    return run
