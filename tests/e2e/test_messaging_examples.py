"""examples/messaging/sending_receiving.py: the greeter served in its own process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tarry import config, host, loader
from tarry.states import RunState
from tarry.storage import RunFilter
from tests.conftest import ROOT, subprocess_env

EXAMPLE = ROOT / "examples" / "messaging" / "sending_receiving.py"


def test_five_names_get_five_greetings_from_a_greeter_suspended_between_them(
    tarry_home: Path,
) -> None:
    greeter = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "greeter"],
        # Every receive takes the greeter out of memory: each name resumes it by replay.
        env=subprocess_env(
            tarry_home, TARRY_RESIDENT_SECONDS="0", TARRY_WORKER_POLL_SECONDS="0.05"
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    here = host.Host(config.Settings(home=tarry_home))
    previous = host.set_host(here)
    try:
        deadline = time.monotonic() + 30
        while here.store.get_deployment("greeter/sending-receiving") is None:
            assert greeter.poll() is None, greeter.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sender = loader.load_object(f"{EXAMPLE}:sender")

        greetings = sender(["Ann", "Bob", "Cid", "Dee", "Eve"])

        assert greetings == [f"Hello, {n}!" for n in ["Ann", "Bob", "Cid", "Dee", "Eve"]]
        [greeted] = here.store.list_runs(RunFilter(flow_name="greeter"))
        deadline = time.monotonic() + 30
        while (run := here.store.get_run(greeted.id)) is None or not run.state.is_final:
            assert time.monotonic() < deadline, run
            time.sleep(0.05)
        assert (run.state, run.result) == (RunState.COMPLETED, "5")
        received = here.store.messages_of_run(greeted.id)
        assert [m.status for m in received] == ["received"] * 6
    finally:
        host.set_host(previous)
        greeter.send_signal(signal.SIGINT)
        out, err = greeter.communicate(timeout=30)
        here.close()
    assert greeter.returncode == 0, err
    assert "Goodbye!" in out
