"""`flow.serve()` in its own process executes the runs others start with run_deployment."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tarry import config, deployments, host
from tarry.states import RunState
from tarry.storage import RunFilter, RunRecord
from tests.conftest import ROOT, subprocess_env

SERVE = "from tests.e2e.flows.echo import shout; shout.serve()"


def test_a_served_flow_runs_what_another_process_starts(tarry_home: Path) -> None:
    served = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        env={**subprocess_env(tarry_home), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    caller = host.Host(config.Settings(home=tarry_home))
    try:
        deadline = time.monotonic() + 30
        while caller.store.get_deployment("shout/shout") is None:
            assert served.poll() is None, served.communicate()
            assert time.monotonic() < deadline, "the flow was never deployed"
            time.sleep(0.05)

        ended = deployments.run_deployment("shout/shout", {"text": "hey"}, timeout=30, hst=caller)

        assert (ended.state, ended.result) == (RunState.COMPLETED, '"HEY"')
    finally:
        served.send_signal(signal.SIGINT)
        _, stderr = served.communicate(timeout=30)
        caller.close()
    assert served.returncode == 0, stderr


SERVE_EVERY_SECOND = (
    "from tests.e2e.flows.echo import shout; "
    "shout.serve('each-second', interval=1, parameters={'text': 'tick'})"
)


def test_a_flow_served_on_an_interval_runs_at_each_slot(tarry_home: Path) -> None:
    served = subprocess.Popen(
        [sys.executable, "-c", SERVE_EVERY_SECOND],
        env={**subprocess_env(tarry_home), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = host.Host(config.Settings(home=tarry_home))
    try:
        deadline = time.monotonic() + 60
        while len(done := _completed(reader)) < 3:
            assert served.poll() is None, served.communicate()
            assert time.monotonic() < deadline, f"only {len(done)} scheduled runs completed"
            time.sleep(0.1)
        assert {run.result for run in done} == {'"TICK"'}
    finally:
        served.send_signal(signal.SIGINT)
        _, stderr = served.communicate(timeout=30)
        reader.close()
    assert served.returncode == 0, stderr


def _completed(hst: host.Host) -> list[RunRecord]:
    return hst.store.list_runs(RunFilter(flow_name="shout", states=[RunState.COMPLETED]))
