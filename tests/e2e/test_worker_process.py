"""`tarry worker` as a user starts it: a process of its own, on the same database as the test."""

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
from tests.conftest import ROOT, subprocess_env
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
def tarry_worker(home: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    """`tarry worker OPTIONS` until the block ends; then stopped as Ctrl-C stops it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tarry", "worker", *options],
        env=subprocess_env(home),
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
        proc.communicate(timeout=SLOW)


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
