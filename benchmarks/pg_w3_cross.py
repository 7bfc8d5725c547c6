"""W3 across processes (tarry, PostgreSQL): a run waits in a worker, the answer goes to a server.

Usage: python pg_w3_cross.py [ROUNDS=200]

One `tarry worker` (with `TARRY_RESIDENT_SECONDS=3600`: waits stay parked in memory) and
one `tarry server` run on a fresh schema. This process starts one run of
`pg_flows:w3_driver(ROUNDS + 1)` through `tarry.deployments.start`, before the server exists,
so the worker claims it; the driver calls the child flow `w3_round(i)` ROUNDS + 1 times, one
after another, in the worker (child runs are never claimed by another process). Each child
run pauses with `pause_flow_run(wait_for_input=Approval)` and, once answered, runs the task
`stamp(i)`, which returns `time.time()`: the first thing it does after the wait returned.

Each round: this process polls the database (every 2 ms) until the round's wait is open,
sleeps a random 50-100 ms, stamps t_submit = `time.time()` and POSTs
`{"input": {"approved": true}}` to the server's `/api/runs/{child}/resume`, then polls until
the `stamp` step is in the child's journal. The answer travels server -> PostgreSQL commit ->
NOTIFY -> the worker's listener -> its watcher -> the parked thread.

* `latency_ms`: stamp - t_submit (same machine, same clock). One warm-up round not counted.
* `post_ms`: the POST's round trip; `server_ms`: its `Server-Timing`.
* `wake_after_post_ms`: stamp - (t_submit + post round trip), i.e. what the wake-up adds
  after the server answered (negative when the worker woke before the response arrived).
* `resident_at_submit`: rounds whose run was still leased to the worker (not suspended).
"""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import time

import httpx
import pg_flows
import tarry_env
from common import emit, summary
from pg_fleet import Fleet, fleet, until

from tarry import deployments

WARMUP = 1


def open_wait(f: Fleet, driver: str, previous: str | None) -> tuple[str, str, str | None]:
    """(wait id, child run id, child's lease owner) of the driver's open input wait."""

    def read() -> list[tuple[str, str, str | None]]:
        return f.rows(
            "SELECT w.id, w.run_id, r.lease_owner FROM waits w JOIN runs r ON r.id = w.run_id"
            " WHERE r.parent_id = %s AND w.status = 'open' AND w.kind = 'input'",
            driver,
        )

    rows = until(read, lambda r: bool(r) and r[0][0] != previous, "the round's wait", 30)
    return rows[0]


def stamped(f: Fleet, child: str) -> float | None:
    rows = f.rows("SELECT result FROM steps WHERE run_id = %s AND name = 'stamp'", child)
    return float(json.loads(rows[0][0])) if rows else None


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rnd = random.Random(1234)
    latencies, posts, servers, wakes = [], [], [], []
    resident = 0
    with fleet("tarry-pgw3-") as f:
        worker = f.worker("worker", 2, TARRY_RESIDENT_SECONDS="3600")
        name = f.deploy(pg_flows.w3_driver)
        driver = deployments.start(name, {"rounds": WARMUP + rounds}, hst=f.host).id
        wait_id, child, owner = open_wait(f, driver, None)
        server = f.server("server")
        assert str(worker.pid) in str(owner), (owner, worker.pid)
        with httpx.Client(base_url=str(server.api), timeout=30) as api:
            for n in range(WARMUP + rounds):
                if n:
                    wait_id, child, owner = open_wait(f, driver, wait_id)
                time.sleep(0.05 + rnd.random() * 0.05)
                t_submit = time.time()
                response = api.post(f"/runs/{child}/resume", json={"input": {"approved": True}})
                post = time.time() - t_submit
                response.raise_for_status()
                assert response.json()["accepted"], response.text
                server_s = float(response.headers["server-timing"].split("dur=")[1]) / 1000
                stamp = until(functools.partial(stamped, f, child), bool, "the stamp", 30)
                assert stamp is not None
                if n >= WARMUP:
                    latencies.append(stamp - t_submit)
                    posts.append(post)
                    servers.append(server_s)
                    wakes.append(stamp - t_submit - post)
                    resident += str(worker.pid) in str(owner)
        state = until(
            lambda: f.value("SELECT state FROM runs WHERE id = %s", driver),
            lambda s: s == "Completed",
            "the driver to complete",
            30,
        )
        settings = f.host.settings
    emit(
        {
            **tarry_env.versions(settings),
            "workload": "W3-cross",
            "trials": rounds,
            "latency_ms": summary(latencies, 1e3),
            "post_ms": summary(posts, 1e3),
            "server_ms": summary(servers, 1e3),
            "wake_after_post_ms": summary(wakes, 1e3),
            "resident_at_submit": resident,
            "driver_state": state,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
