"""The timeouts example stops its runaway task in its loop and quotes the fallback price."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT, query, run_python

EXAMPLE = ROOT / "examples" / "timeouts" / "runaway_task.py"


def test_a_runaway_task_is_stopped_and_the_flow_falls_back(tarry_home: Path) -> None:
    done = run_python(tarry_home, str(EXAMPLE), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "quote: 120.0" in done.stdout
    assert "search finished" not in done.stdout
    assert "exceeded its timeout of 1s; stopped at" in done.stderr
    assert "runaway_task.py:" in done.stderr
    steps = query(tarry_home / "tarry.db", "SELECT name, status FROM steps")
    assert steps == [("best_price", "Failed")]
    assert query(tarry_home / "tarry.db", "SELECT state FROM runs") == [("Completed",)]
