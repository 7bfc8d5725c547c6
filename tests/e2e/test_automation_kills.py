"""The automation kill suite in CI: 20 SIGKILLs of the evaluating worker during a tick stream.

The same harness as `benchmarks/automation_kills.py` (200 kills); what is killed and checked:
`tests/e2e/automation_kills.py`. A failure names the seed, so `benchmarks/automation_kills.py
STORE 20 --seed SEED` kills at the same moments again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.automation_kills import automation_kills

pytestmark = pytest.mark.xdist_group("fleet")  # never beside another kill or fleet test

KILLS = 20
RATE = 20.0
"""Ticks per second (the benchmark's 40 makes a longer drain on a busy machine)."""


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_every_firing_acts_once_across_kills_of_the_evaluator(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if store == "postgres" else None
    seed = int.from_bytes(os.urandom(4), "big")
    outcome = automation_kills(store, tmp_path, KILLS, seed, url, RATE)

    assert outcome.kills == KILLS
    assert outcome.ticks > KILLS  # the stream went on through the kills
    assert outcome.firings["five-ticks"] >= outcome.ticks // 5 - 3
    assert not outcome.failures, (
        f"{len(outcome.failures)} failures with seed {seed} on {store}:\n"
        + "\n".join(outcome.failures[:20])
    )
    if store == "postgres":
        assert outcome.holder_kills > 0  # the duty holder was found and killed
    print(f"\n{outcome.line()}")
