"""`tarry server` as a user starts it: a separate process, answered over HTTP by the client."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tarry import errors
from tarry.client import Client
from tarry.input import RunInput
from tarry.states import RunState
from tests.conftest import ROOT, subprocess_env
from tests.net import free_port


class Authorization(RunInput):
    code: str


@pytest.fixture
def server_url(tarry_home: Path) -> Iterator[str]:
    """`tarry server --demo` with finance challenge 4, in its own process."""
    port = free_port()
    command = [sys.executable, "-m", "tarry", "server", "--port", str(port), "--demo"]
    command += ["--deploy", "examples/finance/challenge_4.py:train_model"]
    proc = subprocess.Popen(
        command, env=subprocess_env(tarry_home), cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _until_up(url, proc)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode in (0, 130), (proc.returncode, stderr)  # 130: stopped by Ctrl-C
        assert "Traceback" not in stderr


def _until_up(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "tarry server exited"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health").is_success:
                return
        time.sleep(0.05)
    raise AssertionError("tarry server did not come up")


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
