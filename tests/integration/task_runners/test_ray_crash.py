"""Acceptance: a flow of 10 Ray tasks SIGKILLed after 5 finished re-runs only the other 5."""

from __future__ import annotations

import collections
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, query, subprocess_env

CRASH_FLOW = Path(__file__).with_name("ray_crash_flow.py")
SLOW = 240.0
"""Seconds for a local Ray to start and the tasks to run: two cores run several sessions."""

# A Ray of its own, in the flow's process: the `ray` xdist group starts one Ray at a time.
pytestmark = pytest.mark.xdist_group("ray")


def _journaled(db: Path) -> int:
    try:
        rows = query(db, "SELECT COUNT(*) FROM steps WHERE status = 'Completed'")
    except sqlite3.OperationalError:  # not made yet, or still migrating
        return 0
    return int(str(rows[0][0]))


def _in_session(sid: int) -> dict[int, str]:
    """The live processes of session `sid`, by pid, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = stat.with_name("cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found[int(stat.parent.name)] = command
    return found


def _until_tasks_stopped(sid: int) -> None:
    """Wait for the killed flow's Ray to stop its workers: none may finish a held task.

    Ray's two agents outlive the rest by a minute or more before they end too.
    """
    deadline = time.monotonic() + SLOW
    while True:
        left = {p: c for p, c in _in_session(sid).items() if "Agent" not in c}
        if not left:
            return
        assert time.monotonic() < deadline, f"Ray outlived its flow process: {left}"
        time.sleep(0.2)


def _start_and_kill_after_five(home: Path, env: dict[str, str]) -> None:
    # A session of its own: Ray's processes, started by the flow, stay in it.
    proc = subprocess.Popen(
        [sys.executable, str(CRASH_FLOW)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + SLOW
    try:
        while _journaled(home / "tarry.db") < 5:
            assert proc.poll() is None, f"the flow exited with {proc.returncode}"
            assert time.monotonic() < deadline, "5 tasks were not journaled in time"
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no clean-up runs in the flow's process
        proc.wait()
    _until_tasks_stopped(proc.pid)


@pytest.mark.slow
def test_a_flow_killed_after_5_of_10_ray_tasks_reruns_only_the_other_5(tmp_path: Path) -> None:
    home, log, hold = tmp_path / "home", tmp_path / "executions.log", tmp_path / "hold"
    home.mkdir()
    hold.write_text("tasks 5 to 9 wait while this file exists")
    env = subprocess_env(home, CRASH_LOG=str(log), CRASH_HOLD=str(hold))
    _start_and_kill_after_five(home, env)
    db = home / "tarry.db"
    assert _journaled(db) == 5
    assert query(db, "SELECT state FROM runs") == [("Running",)]
    hold.unlink()

    recovered = subprocess.run(
        [sys.executable, "-m", "tarry", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SLOW,
        check=False,
    )
    assert recovered.returncode == 0, recovered.stderr

    lines = collections.Counter(log.read_text().splitlines())
    # Each task did its work once; tasks 0 to 4, journaled before the kill, never
    # started again (5 to 9 had started, held, when the process was killed).
    assert all(lines[f"finished {n}"] == 1 for n in range(10)), lines
    assert all(lines[f"started {n}"] == 1 for n in range(5)), lines
    [(state, result)] = query(db, "SELECT state, result FROM runs")
    assert (state, json.loads(str(result))) == ("Completed", sum(n * n for n in range(10)))
