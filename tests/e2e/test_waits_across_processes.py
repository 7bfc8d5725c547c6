"""Waits answered from another process, and waiting runs surviving a SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tarry
from tarry import config, host
from tarry.engine import answers
from tarry.states import RunState, WaitStatus
from tarry.storage import records
from tests.conftest import ROOT, query, run_tarry, subprocess_env

SEEDS = ROOT / "examples" / "course_106"


@pytest.fixture
def other_process(tarry_home: Path) -> Iterator[host.Host]:
    """This test process, seen as another tarry process on the same database."""
    hst = host.Host(config.Settings(home=tarry_home))
    yield hst
    hst.close()


def _spawn(script: Path, home: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script)],
        env=subprocess_env(home, **env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _open_wait(
    hst: host.Host, proc: subprocess.Popen[str], suspended: bool = False
) -> records.WaitRecord:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        waits = hst.store.open_inputs(limit=10)
        if waits:
            run = hst.store.get_run(waits[0].run_id)
            if run is not None and (not suspended or run.lease_owner is None):
                return waits[0]
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"no open wait: {proc.communicate()}")


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out + err


@pytest.mark.example
@pytest.mark.parametrize("resident_seconds", ["30", "0"], ids=["resident", "suspended"])
def test_seed_greet_user_is_answered_from_another_process(
    tarry_home: Path, other_process: host.Host, resident_seconds: str
) -> None:
    proc = _spawn(SEEDS / "greet_user.py", tarry_home, TARRY_RESIDENT_SECONDS=resident_seconds)
    wait = _open_wait(other_process, proc, suspended=resident_seconds == "0")
    assert wait.name == "pause"

    answers.submit_input(
        wait.run_id, "Jeff", responder="jeff@corp", channel="api", hst=other_process
    )

    assert "Hello, Jeff!" in _finish(proc)
    [(state,)] = query(tarry_home / "tarry.db", "SELECT state FROM runs")
    assert state == "Completed"


@pytest.mark.example
def test_seed_default_value_accepts_the_initial_data(
    tarry_home: Path, other_process: host.Host
) -> None:
    proc = _spawn(SEEDS / "greet_user_default.py", tarry_home)
    wait = _open_wait(other_process, proc)
    assert '"anonymous"' in (wait.spec or "")

    answers.submit_input(wait.run_id, None, hst=other_process)

    assert "Hello, stranger!" in _finish(proc)


@pytest.mark.example
def test_seed_shirt_order_is_validated_with_its_own_validator_before_acceptance(
    tarry_home: Path, other_process: host.Host
) -> None:
    proc = _spawn(SEEDS / "shirt_order.py", tarry_home)
    wait = _open_wait(other_process, proc)

    with pytest.raises(tarry.InputInvalid) as refused:
        answers.submit_input(wait.run_id, {"size": "small", "color": "green"}, hst=other_process)
    [error] = refused.value.field_errors
    assert error.loc == ("color",)
    assert error.message == "Green is only in-stock for medium, large, and XL sizes."
    still = other_process.store.get_wait(wait.id)
    assert still is not None
    assert still.status is WaitStatus.OPEN

    answers.submit_input(wait.run_id, {"size": "medium", "color": "red"}, hst=other_process)
    output = _finish(proc)
    assert "Shirt order: size='medium' color='red'" in output
    assert "Invalid shirt order" not in output


KILLABLE = """
import os, sys
from tarry import flow, task, suspend_flow_run, pause_flow_run

@task
def count(label: str) -> str:
    with open(os.environ["COUNTER"], "a") as f:
        f.write(label + "\\n")
    return label

@flow
def asks() -> str:
    count("before")
    wait = suspend_flow_run if os.environ["HOW"] == "suspend" else pause_flow_run
    name = wait(str, key="name")
    return count(f"after {name}")

if __name__ == "__main__":
    asks()
"""


@pytest.mark.parametrize("how", ["suspend", "pause"], ids=["suspended", "resident"])
def test_a_waiting_run_killed_and_restarted_resumes_after_the_answer(
    tmp_path: Path, tarry_home: Path, other_process: host.Host, how: str
) -> None:
    script, counter = tmp_path / "asks.py", tmp_path / "counter.txt"
    script.write_text(KILLABLE)
    proc = _spawn(script, tarry_home, COUNTER=str(counter), HOW=how, TARRY_RESIDENT_SECONDS="60")
    wait = _open_wait(other_process, proc, suspended=how == "suspend")
    proc.kill()
    proc.communicate()

    answers.submit_input(wait.run_id, "Ann", key="name", hst=other_process)
    worker_env = {"COUNTER": str(counter), "HOW": how}
    worker = run_tarry(tarry_home, "worker", "--burst", env=worker_env)
    assert worker.returncode == 0, worker.stderr

    run = other_process.store.get_run(wait.run_id)
    assert run is not None
    assert (run.state, run.result) == (RunState.COMPLETED, '"after Ann"'), run.state_reason
    assert counter.read_text().split("\n") == ["before", "after Ann", ""]


def test_tarry_inputs_ls_and_resume_answer_a_waiting_run(
    tarry_home: Path, other_process: host.Host
) -> None:
    proc = _spawn(SEEDS / "shirt_order.py", tarry_home)
    wait = _open_wait(other_process, proc)
    short = wait.run_id[:8]

    listing = run_tarry(tarry_home, "inputs", "ls")
    assert listing.returncode == 0, listing.stderr
    assert short in listing.stdout
    assert "size, color" in listing.stdout

    refused = run_tarry(
        tarry_home, "resume", short, "--input", '{"size": "small", "color": "green"}'
    )
    assert refused.returncode == 1
    assert "color: Green is only in-stock for medium, large, and XL sizes." in refused.stderr
    assert "the answer was refused; the run keeps waiting" in " ".join(refused.stderr.split())

    accepted = run_tarry(
        tarry_home,
        "resume",
        short,
        "--input",
        '{"size": "large", "color": "green"}',
        "--responder",
        "ann",
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Shirt order: size='large' color='green'" in _finish(proc)
    answered = other_process.store.get_wait(wait.id)
    assert answered is not None
    assert (answered.responder, answered.channel) == ("ann", "cli")

    again = run_tarry(tarry_home, "resume", short, "--input", '{"size": "large", "color": "red"}')
    assert again.returncode == 1
    assert "already answered by ann" in again.stderr
