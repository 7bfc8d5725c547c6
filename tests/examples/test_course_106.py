"""Every example runs end to end, as its docstring says to run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, query, run_python, subprocess_env

EXAMPLES = ROOT / "examples"


def test_getting_started(tarry_home: Path) -> None:
    done = run_python(tarry_home, str(EXAMPLES / "getting_started.py"))
    assert done.returncode == 0, done.stderr
    assert "loaded 5 rows" in done.stderr
    assert query(tarry_home / "tarry.db", "SELECT state FROM runs") == [("Completed",)]


def test_seed_elevator_floors_finish_concurrently(tarry_home: Path) -> None:
    done = run_python(tarry_home, str(EXAMPLES / "course_106" / "elevator.py"))
    assert done.returncode == 0, done.stderr
    stops = [line for line in done.stdout.splitlines() if "stops on floor" in line]
    # Submitted 3, 2, 1: the shortest ride finishes first, as in the seed's output.
    assert stops == [f"elevator stops on floor {f}" for f in (1, 2, 3)]
    steps = query(tarry_home / "tarry.db", "SELECT started_at, ended_at, status FROM steps")
    assert len(steps) == 3
    assert {s[2] for s in steps} == {"Completed"}
    # Every floor started before the first one finished: they ran at the same time.
    assert max(float(str(s[0])) for s in steps) < min(float(str(s[1])) for s in steps)


def test_seed_test_harness_example(tarry_home: Path) -> None:
    done = run_python(
        tarry_home,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(EXAMPLES / "course_106" / "test_harness.py"),
        str(EXAMPLES / "course_106" / "test_harness_block.py"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    # The harness kept the run out of the user's own database.
    assert not (tarry_home / "tarry.db").exists()


def test_seed_dask_greetings_are_computed_by_a_dask_cluster(tarry_home: Path) -> None:
    done = run_python(tarry_home, str(EXAMPLES / "course_106" / "dask_greetings.py"))
    assert done.returncode == 0, done.stderr
    names = ("arthur", "trillian", "ford", "marvin")
    # The worker's threads print at once, so lines may interleave: look for the words.
    said = re.findall(r"(hello|goodbye) (arthur|trillian|ford|marvin)", done.stdout)
    assert sorted(said) == sorted([("hello", n) for n in names] + [("goodbye", n) for n in names])
    steps = query(tarry_home / "tarry.db", "SELECT name, status FROM steps ORDER BY key")
    assert sorted(steps) == sorted([("say_hello", "Completed"), ("say_goodbye", "Completed")] * 4)


def run_on_ray(home: Path, example: str) -> subprocess.CompletedProcess[str]:
    """Run a course example whose flow starts a local Ray (slow to start on two cores).

    `RAY_DEDUP_LOGS=0` has Ray forward every line the tasks print: by default it
    folds lines that differ only in their numbers into one "[repeated Nx]".
    """
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "course_106" / example)],
        env=subprocess_env(home, RAY_DEDUP_LOGS="0"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# The examples on Ray start a Ray of their own: the `ray` xdist group starts one at a time.
ON_RAY = pytest.mark.xdist_group("ray")


@pytest.mark.slow
@ON_RAY
def test_seed_dask_greetings_run_unchanged_on_ray(tarry_home: Path) -> None:
    done = run_on_ray(tarry_home, "ray_greetings.py")
    assert done.returncode == 0, done.stderr
    names = ("arthur", "trillian", "ford", "marvin")
    # Ray prefixes each line with the task and the worker's pid: "(say_hello pid=7) hello ford".
    said = re.findall(r"\((say_hello|say_goodbye) pid=\d+\S*\s+(hello|goodbye) (\w+)", done.stdout)
    # The journal is the record of what ran: all eight tasks, once each.
    steps = query(tarry_home / "tarry.db", "SELECT name, status FROM steps ORDER BY key")
    assert sorted(steps) == sorted([("say_hello", "Completed"), ("say_goodbye", "Completed")] * 4)
    # Ray forwards workers' output on a best-effort basis and may drop the last lines
    # as it shuts down (seen on a busy machine): every line shown is a task's, once.
    expected = {("say_hello", "hello", n) for n in names} | {
        ("say_goodbye", "goodbye", n) for n in names
    }
    assert set(said) <= expected, done.stdout
    assert len(said) == len(set(said)) >= 4, done.stdout


@pytest.mark.slow
@ON_RAY
def test_seed_elevator_runs_unchanged_on_ray(tarry_home: Path) -> None:
    done = run_on_ray(tarry_home, "ray_elevator.py")
    assert done.returncode == 0, done.stderr
    stops = re.findall(r"elevator stops on floor (\d)", done.stdout)
    # Ray's output forwarding may drop a last line at shutdown; the journal below is exact.
    assert stops, done.stdout
    assert set(stops) <= {"1", "2", "3"}
    assert len(stops) == len(set(stops))
    steps = query(tarry_home / "tarry.db", "SELECT started_at, ended_at, status FROM steps")
    assert [s[2] for s in steps] == ["Completed"] * 3
    # The three floors were submitted at once: every step began before the first ended.
    assert max(float(str(s[0])) for s in steps) < min(float(str(s[1])) for s in steps)
    assert "Traceback" not in done.stderr
