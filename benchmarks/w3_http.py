"""W3 over HTTP (tarry): a run waits in `tarry server`; the answer is posted to its API.

Usage: python w3_http.py [TRIALS=20]

`tarry server` runs in a subprocess on a loopback port with its defaults (the
paused run stays resident for 5 s), serving `w3_http_flow.py:approval_timed`.
Each trial starts a run through the API, polls the inbox until its wait is
open, sleeps a random 50-100 ms, stamps t_submit (wall clock) and POSTs the
answer to `/api/inputs/{id}/answer`. The flow returns `time.time()` from the
first line after its pause; latency = that minus t_submit (same machine, same
clock). `post_ms` is the answer request's round trip; `server_ms` its
`Server-Timing`. One warm-up trial is not counted.
"""

from __future__ import annotations

import random
import sys
import time

import httpx
from common import emit, make_workdir, summary
from server_proc import tarry_server

import tarry

WARMUP = 1
DEPLOYMENT = "approval-timed/w3-http-flow"


def _until(read, done, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read()
        if done(found):
            return found
        time.sleep(0.005)
    raise TimeoutError("gave up waiting")


def trial(api: httpx.Client, rnd: random.Random) -> tuple[float, float, float]:
    run_id = api.post("/runs", json={"deployment": DEPLOYMENT}).json()["id"]
    items = _until(lambda: api.get("/inputs", params={"run_id": run_id}).json()["items"], bool)
    time.sleep(0.05 + rnd.random() * 0.05)
    t_submit = time.time()
    response = api.post(f"/inputs/{items[0]['id']}/answer", json={"input": {"approved": True}})
    post = time.time() - t_submit
    response.raise_for_status()
    server = float(response.headers["server-timing"].split("dur=")[1]) / 1000
    run = _until(
        lambda: api.get(f"/runs/{run_id}").json()["run"], lambda r: r["state"] == "Completed"
    )
    return run["result"] - t_submit, post, server


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rnd = random.Random(1234)
    latencies, posts, servers = [], [], []
    home = make_workdir("tarry-w3http-")
    with (
        tarry_server(home, "w3_http_flow.py:approval_timed") as url,
        httpx.Client(base_url=url + "/api") as api,
    ):
        for n in range(WARMUP + trials):
            latency, post, server = trial(api, rnd)
            if n >= WARMUP:
                latencies.append(latency)
                posts.append(post)
                servers.append(server)
    emit(
        {
            "engine": "tarry",
            "version": tarry.__version__,
            "mode": "sqlite",
            "workload": "W3-http",
            "trials": trials,
            "latency_ms": summary(latencies, 1e3),
            "post_ms": summary(posts, 1e3),
            "server_ms": summary(servers, 1e3),
        }
    )


if __name__ == "__main__":
    main()
