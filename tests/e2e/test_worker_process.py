"""`tarry worker` and `tarry server` as users start them: processes on the test's database."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import config, deployments, host, service
from tarry.engine import spec
from tarry.states import RunState
from tarry.storage import records
from tests.conftest import ROOT, run_tarry, subprocess_env
from tests.net import free_port
from tests.polling import until
from tests.processes import SLOW

GREETER = """
from tarry import flow

@flow
def greet(name: str = "Ada") -> str:
    return f"hello {name}"
"""


@pytest.fixture
def this_process(tarry_home: Path) -> Iterator[host.Host]:
    """The test process, as another tarry process on the worker's database."""
    hst = host.Host(config.Settings(home=tarry_home))
    yield hst
    hst.close()


@contextlib.contextmanager
def tarry_worker(
    home: Path, *options: str, command: str = "worker", env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`tarry worker OPTIONS` until the block ends; then stopped as Ctrl-C stops it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tarry", command, *options],
        env=subprocess_env(home, **(env or {})),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=SLOW)
        finally:
            if proc.poll() is None:  # a process that would not stop fails the test, then ends
                proc.kill()
                proc.communicate()


def _load_failures(hst: host.Host, run_id: str) -> int:
    return sum("cannot load its flow" in t.reason for t in hst.store.get_transitions(run_id))


def test_a_run_whose_flow_file_comes_back_runs_in_the_same_worker(
    tmp_path: Path, tarry_home: Path, this_process: host.Host
) -> None:
    script = tmp_path / "greeter.py"
    script.write_text(GREETER)
    deployments.deploy(spec.load_flow(f"{script}:greet"), "greeter", hst=this_process)
    run = service.start_run("greet/greeter", {"name": "Grace"}, hst=this_process)
    # A deploy that replaces files: the flow's file is gone when the worker claims the run.
    hidden = script.rename(tmp_path / "being-replaced.py")

    with tarry_worker(tarry_home):
        until(lambda: _load_failures(this_process, run.id), lambda n: n >= 2, timeout=SLOW)
        hidden.rename(script)
        done = until(
            lambda: this_process.store.get_run(run.id),
            lambda r: r.state is RunState.COMPLETED,
            timeout=SLOW,
        )

    assert json.loads(done.result or "null") == "hello Grace"
    said = [line.message for line in this_process.store.get_logs(run.id)]
    retries = [m for m in said if "will try again" in m]
    assert len(retries) == 1, said
    assert str(script) in retries[0]


# The task runs until the test removes its `.block` file; the other flow waits for a person.
LONG_AND_WAITING = """
import pathlib, time
from tarry import flow, task, wait_for_input

BLOCK = pathlib.Path(__file__).with_suffix(".block")


@task
def crunch() -> str:
    while BLOCK.exists():
        time.sleep(0.02)
    return "crunched"


@flow
def long() -> str:
    return crunch()


@flow
def asks() -> str:
    return "got " + wait_for_input("word", str)
"""


def _deploy_long_and_waiting(
    tmp_path: Path, hst: host.Host
) -> tuple[records.RunRecord, records.RunRecord, Path]:
    script = tmp_path / "long_and_waiting.py"
    script.write_text(LONG_AND_WAITING)
    block = script.with_suffix(".block")
    block.touch()
    for name in ("long", "asks"):
        deployments.deploy(spec.load_flow(f"{script}:{name}"), "here", hst=hst)
    return service.start_run("long/here", hst=hst), service.start_run("asks/here", hst=hst), block


def _held(hst: host.Host, run_id: str, state: RunState) -> records.RunRecord:
    return until(  # type: ignore[no-any-return]
        lambda: hst.store.get_run(run_id),
        lambda r: r.state is state and r.lease_owner is not None,
        timeout=SLOW,
    )


@pytest.mark.parametrize("command", ["worker", "server"])
def test_sigterm_stops_the_process_and_hands_back_what_it_holds(
    tmp_path: Path, tarry_home: Path, this_process: host.Host, command: str
) -> None:
    long, asks, block = _deploy_long_and_waiting(tmp_path, this_process)
    env = {"TARRY_SHUTDOWN_GRACE_SECONDS": "1", "TARRY_RESIDENT_SECONDS": "600"}
    options = ["--port", str(free_port())] if command == "server" else []
    with tarry_worker(tarry_home, *options, command=command, env=env) as proc:
        _held(this_process, long.id, RunState.RUNNING)
        _held(this_process, asks.id, RunState.WAITING)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=SLOW)
    # uvicorn raises the signal again once it has shut down, as the exit status.
    assert proc.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr, stderr
    # What it held is handed back: the long run for any worker, the waiting one to its wait.
    handed = this_process.store.get_run(long.id)
    parked = this_process.store.get_run(asks.id)
    assert handed is not None
    assert parked is not None
    assert (handed.state, handed.lease_owner) == (RunState.PENDING, None)
    assert (parked.state, parked.lease_owner) == (RunState.WAITING, None)

    block.unlink()
    another = run_tarry(tarry_home, "worker", "--burst")
    assert another.returncode == 0, another.stderr
    done = this_process.store.get_run(long.id)
    assert done is not None
    assert done.state is RunState.COMPLETED
    assert json.loads(done.result or "null") == "crunched"
