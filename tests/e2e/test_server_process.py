"""`tarry server` as a user starts it: a separate process, answered over HTTP by the client."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tarry import errors
from tarry._version import __version__
from tarry.client import Client
from tarry.input import RunInput
from tarry.states import RunState
from tests.conftest import run_tarry
from tests.processes import tarry_server


class Authorization(RunInput):
    code: str


@pytest.fixture
def server_url(tarry_home: Path) -> Iterator[str]:
    """`tarry server --demo` with finance challenge 4, in its own process."""
    deploy = "examples/finance/challenge_4.py:train_model"
    with tarry_server(tarry_home, "--demo", "--deploy", deploy) as url:
        yield url


def _waiting_for(client: Client, name: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [i for i in client.list_pending_inputs() if i.name == name]
        if found:
            return found[0].run_id
        time.sleep(0.05)
    raise AssertionError(f"nothing waits for {name!r}")


def test_the_demo_run_is_answered_from_another_process(server_url: str) -> None:
    with Client(server_url) as client:
        run_id = _waiting_for(client, "approval")
        client.resume_flow_run(run_id, {"decision": "Approve"}, key="approval")
        _waiting_for(client, "authorization")

        with pytest.raises(errors.InputInvalid) as refused:
            client.resume_flow_run(run_id, Authorization(code="1230567"), key="authorization")
        assert refused.value.field_errors[0].loc == ("code",)
        assert client.read_flow_run(run_id).state is RunState.WAITING

        client.resume_flow_run(run_id, Authorization(code="7654321"), key="authorization")
        deadline = time.monotonic() + 10
        while (run := client.read_flow_run(run_id)).state is not RunState.COMPLETED:
            assert time.monotonic() < deadline, run
            time.sleep(0.05)
    assert run.result == "model trained (authorization 7654321)"


def test_the_ui_answers_a_browser_and_the_docs_are_served(server_url: str) -> None:
    base = server_url.removesuffix("/api")
    home = httpx.get(base + "/", follow_redirects=True)
    docs = httpx.get(server_url + "/docs")
    assert home.status_code == 200
    assert "train-model" in home.text
    assert docs.status_code == 200


def _refused_start(home: Path, *args: str, **env: str) -> str:
    """What `tarry server` prints when it cannot start; it must exit non-zero at once."""
    done = run_tarry(home, "server", *args, timeout=30, env=env)
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, and no "tarry server on ..." before it
    return lines[0]


def test_a_server_whose_database_is_unreachable_says_so_in_one_line(tarry_home: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    line = _refused_start(tarry_home, TARRY_DATABASE_URL=url)
    assert line.startswith("Error: cannot connect to PostgreSQL at 127.0.0.1:1/nothing")
    assert "TARRY_DATABASE_URL" in line


def test_a_server_whose_port_is_taken_says_so_in_one_line(tarry_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        line = _refused_start(tarry_home, "--port", port)
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in line
    assert "--port" in line


def test_a_server_on_an_address_of_another_machine_says_what_to_use(tarry_home: Path) -> None:
    line = _refused_start(tarry_home, "--host", "192.0.2.1", "--port", "4399")
    assert "cannot listen on 192.0.2.1:4399" in line
    assert "--host" in line


def test_the_version_is_printed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tarry", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, f"tarry {__version__}\n")
