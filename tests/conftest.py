"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import host
from tarry.testing import TestHarness, tarry_test_harness

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    """Flows called in the test run against a fresh SQLite file."""
    with tarry_test_harness() as h:
        yield h


@pytest.fixture
def tarry_home(tmp_path: Path) -> Path:
    """A TARRY_HOME folder for subprocesses of the test."""
    home = tmp_path / "home"
    home.mkdir()
    return home


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a tarry subprocess that uses `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARRY_")}
    env.update(TARRY_HOME=str(home), PYTHONPATH=str(ROOT / "src"), **extra)
    return env


def run_tarry(
    home: Path,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the `tarry` command in a subprocess using `home` (plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "tarry", *args],
        env=subprocess_env(home, **(env or {})),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def query(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of a query on a SQLite file, read with a fresh connection."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _no_leaked_host() -> Iterator[None]:
    # A test that forgets to restore the process host would make later tests
    # write into its store.
    before = host.set_host(None)
    host.set_host(before)
    yield
    assert host.set_host(before) is before
