"""The kill suite (issue 25): random SIGKILLs of tarry's processes, recovery, then checks.

Usage: python kill_suite.py sqlite|postgres [TRIALS=1000] [--seed N] [--gap SECONDS]

One fleet on a fresh store (a SQLite file, or a fresh schema of the PostgreSQL database
`BENCH_POSTGRES_URL`, default `postgresql://postgres@127.0.0.1:5432/tarry_test`): `tarry
server`, `tarry worker` (one on SQLite, two on PostgreSQL) and a launcher script, with runs
always in flight. A trial is one SIGKILL of one of them at a random moment, and its restart;
what a trial is and what is checked: `tests/e2e/kill_harness.py` and README.md. Prints one
JSON line: trials, failures (count, and the first ones with the seed), runs, kills by
target, seconds. The same harness runs 50 trials per store in `tests/e2e/test_kill_suite.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import psycopg  # noqa: E402
from common import emit  # noqa: E402
from tests.e2e import kill_harness  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tarry_test"


@contextlib.contextmanager
def schema() -> Iterator[str]:
    """A fresh schema of the benchmark database, dropped at the end."""
    base = os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_URL
    name = f"kill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{name}"
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept schema {name}", file=sys.stderr)
        else:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {name} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", choices=["sqlite", "postgres"])
    parser.add_argument("trials", nargs="?", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--gap", type=float, default=0.5, help="mean seconds between kills")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    folder = Path(tempfile.mkdtemp(prefix="tarry-kill-", dir=os.environ.get("BENCH_WORKDIR")))
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(schema()) if args.store == "postgres" else None
        outcome = kill_harness.kill_suite(args.store, folder, args.trials, seed, url, args.gap)
    line = outcome.line()
    if outcome.failures or os.environ.get("BENCH_KEEP") == "1":
        line["workdir"] = str(folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    emit(line)


if __name__ == "__main__":
    main()
