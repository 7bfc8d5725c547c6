"""The run list with many runs in the store (tarry): server time of the UI page and the API.

Usage: python run_list.py [N=100000] [REQUESTS=30]

Fills a fresh SQLite database with N finished runs of 20 flows (created over
the last N seconds; 5 % Failed, 1 % Waiting), starts `tarry server` on it in a
subprocess, then GETs each page REQUESTS times and reads the server time from
the `Server-Timing` header: the UI's run list (`/runs`), filtered by state and
by flow, its 100th page, and the API's `/api/runs`. The target is for `/runs`:
≤ 200 ms of server time with 100 000 runs.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import httpx
from common import emit, make_workdir, summary
from server_proc import tarry_server

import tarry
from tarry import config, host
from tarry.states import RunState
from tarry.storage import records, sqlfiles
from tarry.storage import rows as mapping

PAGES = {
    "ui_runs": "/runs",
    "ui_runs_failed": "/runs?state=Failed",
    "ui_runs_flow": "/runs?flow=flow-7",
    "ui_runs_flow_none": "/runs?flow=no-such-flow",
    "ui_runs_page_100": "/runs?offset=5000",
    "api_runs": "/api/runs",
}


def fill(home: str, n: int) -> None:
    """Migrate the database, then insert N runs in one transaction."""
    host.Host(config.Settings(home=Path(home))).store.close()
    now = time.time()
    rows = [mapping.run_params(_run(i, now - n + i)) for i in range(n)]
    conn = sqlite3.connect(Path(home) / "tarry.db")
    with conn:
        conn.executemany(sqlfiles.load_queries("sqlite")["insert_run"], rows)
    conn.close()


def _run(i: int, created: float) -> records.RunRecord:
    state = RunState.FAILED if i % 20 == 0 else RunState.COMPLETED
    if i % 100 == 1:
        state = RunState.WAITING
    return records.RunRecord(
        id=f"{i:08d}-0000-4000-8000-000000000000",
        name=f"run-{i}",
        flow_name=f"flow-{i % 20}",
        entrypoint="flows.py:f",
        parameters='{"n": 1}',
        state=state,
        created_at=created,
        state_reason="finished",
        result="3" if state is RunState.COMPLETED else None,
        started_at=created,
        ended_at=None if state is RunState.WAITING else created + 0.5,
    )


def measure(url: str, path: str, requests: int) -> dict[str, float]:
    times = []
    with httpx.Client(base_url=url) as client:
        client.get(path).raise_for_status()
        for _ in range(requests):
            response = client.get(path)
            response.raise_for_status()
            times.append(float(response.headers["server-timing"].split("dur=")[1]))
    return summary(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    home = make_workdir("tarry-runlist-")
    t0 = time.perf_counter()
    fill(home, n)
    filled = time.perf_counter() - t0
    with tarry_server(home) as url:
        found = {f"{name}_server_ms": measure(url, path, requests) for name, path in PAGES.items()}
    emit(
        {
            "engine": "tarry",
            "version": tarry.__version__,
            "mode": "sqlite",
            "workload": "run-list",
            "n": n,
            "requests": requests,
            "fill_s": round(filled, 2),
            **found,
        }
    )


if __name__ == "__main__":
    main()
