"""The automation kill suite (issue 19): SIGKILL the evaluating worker during a stream of events.

Usage: python automation_kills.py sqlite|postgres [KILLS=200] [--seed N] [--rate TICKS_PER_S]

A fresh store (a SQLite file, or a fresh schema of `BENCH_POSTGRES_URL`, default
`postgresql://postgres@127.0.0.1:5432/tarry_test`), two automations on `tarry.test.tick`
events that a feeder process emits, and `tarry worker` (two on PostgreSQL) SIGKILLed 0.05-1.5 s
after it is up, KILLS times, restarted at once. Then every firing's actions are checked to
have run exactly once (harness and checks: `tests/e2e/automation_kills.py`). Prints one JSON
line: kills, ticks, firings, failures (count and the first ones), seed, seconds, and
`workdir` when something failed or `BENCH_KEEP=1`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from common import emit  # noqa: E402
from kill_suite import schema  # noqa: E402
from tests.e2e import automation_kills  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", choices=["sqlite", "postgres"])
    parser.add_argument("kills", nargs="?", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rate", type=float, default=40.0, help="ticks per second")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    folder = Path(tempfile.mkdtemp(prefix="tarry-akills-", dir=os.environ.get("BENCH_WORKDIR")))
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(schema()) if args.store == "postgres" else None
        outcome = automation_kills.automation_kills(
            args.store, folder, args.kills, seed, url, args.rate
        )
    line = outcome.line()
    if outcome.failures or os.environ.get("BENCH_KEEP") == "1":
        line["workdir"] = str(folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    emit(line)


if __name__ == "__main__":
    main()
