"""W4 (tarry): ping-pong between two running flows with send_input / receive_input.

Usage: python w4_ping_pong.py [ROUNDS=50]

Flow "pong" (started in a thread) receives ROUNDS messages and answers each with
`message.respond(value)`; flow "ping" does ROUNDS times: t0; `send_input(i,
pong_id)`; receive the reply; round trip = now - t0 (both flows stay resident,
tarry's defaults). Like the DBOS and Prefect scripts, with one warm-up round
excluded.
"""

from __future__ import annotations

import queue
import sys
import threading
import time

import tarry_env
from common import emit, summary

import tarry
from tarry import runtime

WARMUP = 1
pong_ids: queue.Queue[str] = queue.Queue()


@tarry.flow
def pong(n: int) -> int:
    run_id = runtime.flow_run.id
    assert run_id is not None
    pong_ids.put(run_id)
    answered = 0
    for message in tarry.receive_input(int, timeout=1800, with_metadata=True):
        message.respond(message.value)
        answered += 1
        if answered == n:
            break
    return answered


@tarry.flow
def ping(peer: str, n: int) -> list[float]:
    rtts = []
    for i in range(n):
        t0 = time.perf_counter()
        tarry.send_input(i, peer)
        for value in tarry.receive_input(int, timeout=1800):
            assert value == i, (value, i)
            break
        rtts.append(time.perf_counter() - t0)
    return rtts


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    hst = tarry_env.open_host("tarry-w4-")
    t0 = time.perf_counter()
    ponger = threading.Thread(target=pong, args=(WARMUP + rounds,), daemon=True)
    ponger.start()
    rtts = ping(pong_ids.get(timeout=30), WARMUP + rounds)[WARMUP:]
    ponger.join(60)
    total = time.perf_counter() - t0
    tarry_env.close_host(hst)
    emit(
        {
            **tarry_env.versions(hst.settings),
            "workload": "W4",
            "rounds": rounds,
            "rtt_ms": summary(rtts, 1e3, 2),
            "wall_s": round(total, 2),
        }
    )


if __name__ == "__main__":
    main()
