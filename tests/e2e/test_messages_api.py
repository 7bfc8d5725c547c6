"""Messages over the API and the CLI: a run on the server receives what others send."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tarry import config, host, server, service
from tarry.states import RunState
from tests.conftest import ROOT, run_tarry
from tests.e2e.live import live_server

ECHO = str(ROOT / "tests" / "e2e" / "flows" / "echo.py") + ":echo"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, host.Host, Path]]:
    """The real server with the echo flow deployed, on a SQLite file other processes share."""
    home = tmp_path / "home"
    hst = host.Host(config.Settings(home=home, resident_seconds=60, worker_poll_seconds=0.05))
    server.deploy_entrypoints(hst, [ECHO])
    try:
        with live_server(hst) as url, httpx.Client(base_url=url + "/api") as client:
            yield client, hst, home
    finally:
        hst.close()


def _until_state(client: httpx.Client, run_id: str, state: str) -> None:
    deadline = time.monotonic() + 10
    while client.get(f"/runs/{run_id}").json()["run"]["state"] != state:
        assert time.monotonic() < deadline, f"run {run_id} never became {state}"
        time.sleep(0.02)


def test_messages_sent_over_the_api_and_the_cli_are_received_once(
    served: tuple[httpx.Client, host.Host, Path],
) -> None:
    client, hst, home = served
    run_id = client.post("/runs", json={"deployment": "echo/echo"}).json()["id"]
    _until_state(client, run_id, "Waiting")

    sent = client.post(f"/runs/{run_id[:8]}/messages", json={"value": "from the api", "key": "k1"})
    again = client.post(f"/runs/{run_id}/messages", json={"value": "ignored", "key": "k1"})
    assert (sent.status_code, again.status_code) == (201, 201)
    assert again.json()["value"] == "from the api"  # the key was sent before: nothing changed
    by_cli = run_tarry(home, "send", run_id, "from the cli")
    assert by_cli.returncode == 0, by_cli.stderr

    _until_state(client, run_id, "Completed")
    assert service.get_run(run_id, hst=hst).state is RunState.COMPLETED
    assert client.get(f"/runs/{run_id}").json()["run"]["result"] == ["from the api", "from the cli"]
    inbox = client.get(f"/runs/{run_id}/messages").json()
    assert [(m["value"], m["sender"], m["status"]) for m in inbox] == [
        ("from the api", "api", "received"),
        ("from the cli", "cli", "received"),
    ]


def test_sending_to_an_unknown_run_is_a_404(served: tuple[httpx.Client, host.Host, Path]) -> None:
    client, _, home = served
    response = client.post("/runs/no-such-run/messages", json={"value": 1})
    by_cli = run_tarry(home, "send", "no-such-run", "1")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert by_cli.returncode == 1
    assert "no run with id" in by_cli.stderr
