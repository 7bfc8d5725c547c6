"""The messaging examples, each served in its own process as a user would run them."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tarry import config, host, loader
from tarry.states import RunState
from tarry.storage import RunFilter
from tests.conftest import ROOT, subprocess_env

EXAMPLES = ROOT / "examples" / "messaging"
GREETINGS = EXAMPLES / "sending_receiving.py"
CHATBOT = EXAMPLES / "llm_chatbot.py"


@contextlib.contextmanager
def serving(
    example: Path, args: list[str], deployment: str, home: Path, **env: str
) -> Iterator[tuple[host.Host, subprocess.Popen[str]]]:
    """Run `example args` (which serves `deployment`); this process shares its database."""
    served = subprocess.Popen(
        [sys.executable, str(example), *args],
        env=subprocess_env(home, TARRY_WORKER_POLL_SECONDS="0.05", **env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    here = host.Host(config.Settings(home=home))
    previous = host.set_host(here)
    try:
        _until(lambda: here.store.get_deployment(deployment) is not None, served)
        yield here, served
    finally:
        host.set_host(previous)
        served.send_signal(signal.SIGINT)
        served.communicate(timeout=30)
        here.close()
    assert served.returncode == 0


def _until(condition: Callable[[], bool], served: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert served.poll() is None, served.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_five_names_get_five_greetings_from_a_greeter_suspended_between_them(
    tarry_home: Path,
) -> None:
    names = ["Ann", "Bob", "Cid", "Dee", "Eve"]
    # Every receive takes the greeter out of memory: each name resumes it by replay.
    with serving(
        GREETINGS, ["greeter"], "greeter/sending-receiving", tarry_home, TARRY_RESIDENT_SECONDS="0"
    ) as (here, served):
        greetings = loader.load_object(f"{GREETINGS}:sender")(names)

        assert greetings == [f"Hello, {n}!" for n in names]
        [greeted] = here.store.list_runs(RunFilter(flow_name="greeter"))
        _until(lambda: _final(here, greeted.id), served)
        run = here.store.get_run(greeted.id)
        assert run is not None
        assert (run.state, run.result) == (RunState.COMPLETED, "5")
        received = here.store.messages_of_run(greeted.id)
        assert [m.status for m in received] == ["received"] * 6


def _final(hst: host.Host, run_id: str) -> bool:
    run = hst.store.get_run(run_id)
    return run is not None and run.state.is_final


def test_the_chatbot_answers_and_resumes_an_answerer_that_suspended_itself(
    tarry_home: Path,
) -> None:
    with serving(CHATBOT, ["answerer", "0.5"], "question-answerer/llm-chatbot", tarry_home) as (
        here,
        served,
    ):
        chat = loader.load_object(f"{CHATBOT}:chat_session")

        first = chat(["what is 12 * (3 + 4)?", "my name is Ann"])
        [session] = here.store.list_runs(RunFilter(flow_name="question-answerer"))
        # It suspends itself for lack of questions: its idle pause is open.
        _until(lambda: bool(here.store.open_inputs(session.id)), served)
        second = chat(["what is my name?"])

    assert "84" in first[0]
    assert "Ann" in first[1]
    assert "Your name is Ann" in second[0]
