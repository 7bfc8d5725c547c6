"""Finance challenges 1-4 as their users run them: the script in one terminal, the answer
from another (`tarry inputs ls`, `tarry resume`). The browser and HTTP versions of
challenge 4 are in `tests/e2e/test_browser.py` and `tests/e2e/test_api.py`."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, query, run_tarry, subprocess_env

FINANCE = ROOT / "examples" / "finance"


@pytest.fixture
def script(tarry_home: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Started challenge scripts, killed if a test leaves one running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _start(started: list[subprocess.Popen[str]], home: Path, challenge: int) -> str:
    """Run challenge N as a script; the id of its run once it waits."""
    proc = subprocess.Popen(
        [sys.executable, str(FINANCE / f"challenge_{challenge}.py")],
        env=subprocess_env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with contextlib.suppress(sqlite3.OperationalError):  # not yet migrated
            asked = query(home / "tarry.db", "SELECT run_id FROM waits WHERE status = 'open'")
            if asked:
                return str(asked[0][0])
        time.sleep(0.05)
    raise AssertionError("the challenge never asked finance")


def _printed(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out.strip()


def _resume(home: Path, run_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tarry(home, "resume", run_id, *args)


@pytest.mark.parametrize(
    ("answer", "printed"), [("Approve", "model trained"), ("No", "not approved")]
)
def test_challenge_1_trains_only_on_the_string_approve(
    tarry_home: Path, script: list[subprocess.Popen[str]], answer: str, printed: str
) -> None:
    run_id = _start(script, tarry_home, 1)
    done = _resume(tarry_home, run_id, "--input", f'"{answer}"')
    assert done.returncode == 0, done.stderr
    assert _printed(script[0]) == printed


def test_challenge_2_accepts_its_default_approve(
    tarry_home: Path, script: list[subprocess.Popen[str]]
) -> None:
    run_id = _start(script, tarry_home, 2)
    done = _resume(tarry_home, run_id)  # no input: the form's initial data
    assert done.returncode == 0, done.stderr
    assert _printed(script[0]) == "model trained"


def test_challenge_3_offers_two_choices_and_refuses_a_third(
    tarry_home: Path, script: list[subprocess.Popen[str]]
) -> None:
    run_id = _start(script, tarry_home, 3)
    refused = _resume(tarry_home, run_id, "--set", "decision=Maybe")
    assert refused.returncode != 0
    assert "decision" in refused.stderr
    assert "Approve" in refused.stderr  # the message names the allowed choices
    done = _resume(tarry_home, run_id, "--set", "decision=Disapprove")
    assert done.returncode == 0, done.stderr
    assert _printed(script[0]) == "not approved"


def test_challenge_4_asks_for_a_code_without_zeroes_after_approval(
    tarry_home: Path, script: list[subprocess.Popen[str]]
) -> None:
    run_id = _start(script, tarry_home, 4)
    approved = _resume(tarry_home, run_id, "--set", "decision=Approve")
    assert approved.returncode == 0, approved.stderr
    for bad in ("1230567", "123456"):
        refused = _resume(tarry_home, run_id, "--set", f"code={bad}")
        assert refused.returncode != 0, bad
        assert "code" in refused.stderr
    done = _resume(tarry_home, run_id, "--set", "code=1234567")
    assert done.returncode == 0, done.stderr
    assert _printed(script[0]) == "model trained (authorization 1234567)"
