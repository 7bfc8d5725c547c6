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


CHATBOT = ROOT / "examples" / "messaging" / "llm_chatbot.py"


def test_the_chatbot_answers_and_resumes_an_answerer_that_suspended_itself(
    tarry_home: Path,
) -> None:
    answerer = subprocess.Popen(
        [sys.executable, str(CHATBOT), "answerer", "0.5"],
        env=subprocess_env(tarry_home, TARRY_WORKER_POLL_SECONDS="0.05"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    here = host.Host(config.Settings(home=tarry_home))
    previous = host.set_host(here)
    try:
        deadline = time.monotonic() + 30
        while here.store.get_deployment("question-answerer/llm-chatbot") is None:
            assert answerer.poll() is None, answerer.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        chat = loader.load_object(f"{CHATBOT}:chat_session")

        first = chat(["what is 12 * (3 + 4)?", "my name is Ann"])
        [session] = here.store.list_runs(RunFilter(flow_name="question-answerer"))
        _until_idle(here, session.id)
        second = chat(["convert 10 km to miles"])

        assert "84" in first[0]
        assert "Ann" in first[1]
        assert "6.21" in second[0]
    finally:
        host.set_host(previous)
        answerer.send_signal(signal.SIGINT)
        _, err = answerer.communicate(timeout=30)
        here.close()
    assert answerer.returncode == 0, err


def _until_idle(hst: host.Host, run_id: str) -> None:
    """Until the answerer suspended itself for lack of questions (its idle pause is open)."""
    deadline = time.monotonic() + 30
    while not hst.store.open_inputs(run_id):
        assert time.monotonic() < deadline, "the answerer never went idle"
        time.sleep(0.05)
