"""The kill suite in CI: 50 random SIGKILLs of the launcher, a worker or the server, per store.

The same harness as `benchmarks/kill_suite.py` (which runs 1000 trials per store); what a trial
is and what is checked: `tests/e2e/kill_harness.py`. A failure names the seed, so
`benchmarks/kill_suite.py STORE 50 --seed SEED` schedules the same kills again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.kill_harness import kill_suite

TRIALS = 50

# Fleets of processes, timed against leases: the `fleet` xdist group runs them one at a time.
pytestmark = pytest.mark.xdist_group("fleet")


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_random_kills_lose_nothing_and_repeat_no_finished_step(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if store == "postgres" else None
    seed = int.from_bytes(os.urandom(4), "big")
    outcome = kill_suite(store, tmp_path, TRIALS, seed, url, mean_gap=0.4)

    assert outcome.trials == TRIALS
    assert not outcome.failures, (
        f"{len(outcome.failures)} failures with seed {seed} on {store} "
        f"({outcome.runs} runs, kills {outcome.kills}):\n" + "\n".join(outcome.failures)
    )
    print(f"\n{outcome.line()}")
