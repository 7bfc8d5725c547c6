"""A receiver SIGKILLed mid-conversation and recovered handles every message exactly once."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tarry import config, host, messaging
from tarry.states import RunState
from tarry.storage import RunFilter
from tests.conftest import ROOT, query, run_tarry, subprocess_env

RECORDER = ROOT / "tests" / "e2e" / "flows" / "recorder.py"
RECORDER_RUNS = RunFilter(flow_name="recorder")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _journaled(home: Path, name: str) -> bool:
    """Whether the step that recorded `name` is in the journal: a finished step, which
    recovery never runs again (its line alone may be written just before a kill)."""
    rows = query(
        home / "tarry.db", "SELECT result FROM steps WHERE name = 'record' AND status = 'Completed'"
    )
    return any(json.loads(str(result)) == name for (result,) in rows)


def _until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_every_message_is_handled_once_across_a_sigkill(tarry_home: Path, tmp_path: Path) -> None:
    log = tmp_path / "handled.txt"
    started, hold = tmp_path / "handled.txt.started", tmp_path / "handled.txt.hold"
    receiver = subprocess.Popen(
        [sys.executable, str(RECORDER), str(log)],
        env=subprocess_env(tarry_home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sender = host.Host(config.Settings(home=tarry_home))
    try:
        _until(lambda: sender.store.list_runs(RECORDER_RUNS), "the receiver's run")
        [run] = sender.store.list_runs(RECORDER_RUNS)
        for name in ("Ann", "Bob", "Cid"):
            messaging.send_input(name, run.id, hst=sender)
            _until(functools.partial(_journaled, tarry_home, name), f"{name} to be handled")
        # Dee is killed mid-flight: received, its step started but not finished.
        hold.touch()
        messaging.send_input("Dee", run.id, hst=sender)
        _until(lambda: "Dee" in _lines(started), "Dee's step to start")
        receiver.send_signal(signal.SIGKILL)
        receiver.communicate(timeout=30)
        hold.unlink()
        for name in ("Eve", "Fay", "__EXIT__"):
            messaging.send_input(name, run.id, hst=sender)

        recovered = run_tarry(tarry_home, "worker", "--burst")
        assert recovered.returncode == 0, recovered.stderr

        final = sender.store.get_run(run.id)
        assert final is not None
        assert (final.state, final.result) == (RunState.COMPLETED, "6")
        assert _lines(log) == ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay"]
        # Only Dee's step, which the kill interrupted, ran again.
        assert _lines(started) == ["Ann", "Bob", "Cid", "Dee", "Dee", "Eve", "Fay"]
        received = sender.store.messages_of_run(run.id)
        assert [m.status for m in received] == ["received"] * 7
    finally:
        if receiver.poll() is None:
            receiver.kill()
        sender.close()
