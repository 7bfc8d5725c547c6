"""W4 across processes (tarry, PostgreSQL): ping-pong between runs in two worker processes.

Usage: python pg_w4_cross.py [ROUNDS=200]

Two `tarry worker --max-runs 1` processes (`TARRY_RESIDENT_SECONDS=3600`: waiting runs stay
parked) on a fresh schema. This process starts `pg_flows:w4_pong` while only worker A runs,
so A claims it; pong then waits (resident, filling A's only slot) for messages. Then worker B
starts and this process starts `pg_flows:w4_ping(pong, ROUNDS + 1)`, which only B can claim.
Ping, ROUNDS + 1 times: t0 = `perf_counter()`; `send_input(i, pong)`; receive the reply that
pong sends back with `message.respond(i)`; round trip = now - t0 (both ends in ping's process).
Each message travels: sender's commit -> NOTIFY -> the other worker's listener -> its watcher
-> the parked receiver. One warm-up round not counted.

`rtt_ms` comes from ping's result (read from the database); `ping_pid` / `pong_pid` show that
the runs ran in different processes.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pg_flows
import tarry_env
from common import emit, summary
from pg_fleet import fleet, until

from tarry import deployments

WARMUP = 1


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    env = {"TARRY_RESIDENT_SECONDS": "3600"}
    with fleet("tarry-pgw4-") as f:
        worker_a = f.worker("worker-a", 1, **env)
        pong_name = f.deploy(pg_flows.w4_pong)
        ping_name = f.deploy(pg_flows.w4_ping)
        pong = deployments.start(pong_name, {"n": WARMUP + rounds}, hst=f.host).id

        def pong_state() -> tuple[str, str | None]:
            return f.rows("SELECT state, lease_owner FROM runs WHERE id = %s", pong)[0]

        until(pong_state, lambda s: s[0] == "Waiting", "pong to wait", 60)
        worker_b = f.worker("worker-b", 1, **env)
        t0 = time.perf_counter()
        ping = deployments.start(ping_name, {"peer": pong, "n": WARMUP + rounds}, hst=f.host).id

        def ended() -> list[tuple[str, str | None]]:
            return f.rows("SELECT state, result FROM runs WHERE id = ANY(%s)", [ping, pong])

        until(ended, lambda rows: all(s == "Completed" for s, _ in rows), "ping and pong", 300)
        wall = time.perf_counter() - t0
        ping_result = json.loads(f.value("SELECT result FROM runs WHERE id = %s", ping))
        pong_pid = json.loads(f.value("SELECT result FROM runs WHERE id = %s", pong))
        pids = {"worker_a": worker_a.pid, "worker_b": worker_b.pid}
        settings = f.host.settings
    assert ping_result["pid"] != pong_pid, (ping_result["pid"], pong_pid)
    emit(
        {
            **tarry_env.versions(settings),
            "workload": "W4-cross",
            "rounds": rounds,
            "rtt_ms": summary(ping_result["rtts"][WARMUP:], 1e3, 2),
            "wall_s": round(wall, 2),
            "ping_pid": ping_result["pid"],
            "pong_pid": pong_pid,
            "worker_pids": pids,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
