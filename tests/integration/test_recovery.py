"""Crash recovery across real processes: SIGKILL, restart, no finished step repeated."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, query, run_tarry, subprocess_env

CRASH_FLOW = ROOT / "tests" / "integration" / "crash_flow.py"


def _start_and_kill_after(script: Path, home: Path, log: Path, marker: str) -> None:
    env = subprocess_env(home, CRASH_LOG=str(log), CRASH_BLOCK="1")
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    try:
        while marker not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, f"{script.name} never reached {marker!r}"
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _recover(home: Path, log: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tarry", "worker", "--burst"],
        env=subprocess_env(home, CRASH_LOG=str(log)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _crash_and_recover_once(tmp: Path) -> None:
    home, log = tmp / "home", tmp / "steps.log"
    home.mkdir()
    _start_and_kill_after(CRASH_FLOW, home, log, "after-step3")
    db = home / "tarry.db"
    assert query(db, "SELECT state FROM runs") == [("Running",)]

    recovered = _recover(home, log)
    assert recovered.returncode == 0, recovered.stderr

    lines = log.read_text().split()
    counts = {f"step{k}": lines.count(f"step{k}") for k in range(1, 6)}
    assert counts == {f"step{k}": 1 for k in range(1, 6)}, lines
    [(state, result)] = query(db, "SELECT state, result FROM runs")
    assert (state, json.loads(str(result))) == ("Completed", 115)
    reasons = [r[0] for r in query(db, "SELECT reason FROM run_transitions ORDER BY id")]
    assert any(str(r).startswith("recovered from") for r in reasons)


@pytest.mark.slow
def test_killed_after_step_3_of_5_resumes_without_repeating_steps_20_times(
    tmp_path: Path,
) -> None:
    for i in range(20):
        attempt = tmp_path / f"attempt{i}"
        attempt.mkdir()
        _crash_and_recover_once(attempt)


ORDER_V1 = """
import os, signal
from tarry import flow, task

@task
def first() -> str:
    return "first"

@task
def second() -> str:
    return "second"

@flow
def ordered() -> str:
    a = first()
    b = second()
    os.kill(os.getpid(), signal.SIGKILL)
    return a + b

if __name__ == "__main__":
    ordered()
"""


def test_replaying_changed_code_fails_with_nondeterminism_not_a_wrong_result(
    tmp_path: Path, tarry_home: Path
) -> None:
    script = tmp_path / "ordered.py"
    script.write_text(ORDER_V1)
    killed = subprocess.run(
        [sys.executable, str(script)],
        env=subprocess_env(tarry_home),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -9
    # A new version of the code calls the two tasks the other way round.
    script.write_text(
        ORDER_V1.replace("a = first()\n    b = second()", "b = second()\n    a = first()")
    )

    recovered = run_tarry(tarry_home, "worker", "--burst")
    assert recovered.returncode == 0, recovered.stderr

    [(state, reason, result)] = query(
        tarry_home / "tarry.db", "SELECT state, state_reason, result FROM runs"
    )
    assert (state, result) == ("Failed", None)
    assert str(reason).startswith("NondeterminismError: run ")
    assert "recorded task 'first' here, but the code now calls task 'second'" in str(reason)


def test_a_worker_without_the_code_leaves_the_run_to_one_that_has_it(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "steps.log"
    home.mkdir()
    script = tmp_path / "five.py"
    script.write_text(CRASH_FLOW.read_text())
    _start_and_kill_after(script, home, log, "after-step3")
    hidden = script.rename(tmp_path / "elsewhere.py")

    without_code = _recover(home, log)
    assert without_code.returncode == 0, without_code.stderr
    db = home / "tarry.db"
    [(state, reason)] = query(db, "SELECT state, state_reason FROM runs")
    assert state == "Pending"
    assert f"cannot load its flow: no file {script}" in str(reason)

    hidden.rename(script)
    with_code = _recover(home, log)
    assert with_code.returncode == 0, with_code.stderr
    assert query(db, "SELECT state, result FROM runs") == [("Completed", "115")]
    lines = log.read_text().split()
    assert [lines.count(f"step{k}") for k in range(1, 6)] == [1, 1, 1, 1, 1]


def test_a_worker_leaves_runs_of_live_processes_alone(tmp_path: Path, tarry_home: Path) -> None:
    log = tmp_path / "steps.log"
    env = subprocess_env(tarry_home, CRASH_LOG=str(log), CRASH_BLOCK="1")
    proc = subprocess.Popen(
        [sys.executable, str(CRASH_FLOW)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while "step4-blocking" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        worker = _recover(tarry_home, log)
        assert worker.returncode == 0, worker.stderr
        assert query(tarry_home / "tarry.db", "SELECT state FROM runs") == [("Running",)]
        assert log.read_text().split().count("step1") == 1
    finally:
        proc.kill()
        proc.wait()
