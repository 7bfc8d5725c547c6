"""Flows of the cross-process PostgreSQL benchmarks; `tarry worker` imports them as `pg_flows`.

Each returns the pid of the worker that ran it (or a result that includes it), so a benchmark
can tell how the runs spread over the workers.
"""

from __future__ import annotations

import fcntl
import os
import time
from typing import Any

import tarry
from tarry import runtime
from tarry.input import RunInput


class Approval(RunInput):
    approved: bool


# -- W2 --------------------------------------------------------------------------------------


@tarry.flow
def trivial(i: int) -> int:
    """W2: a flow with no steps; returns its worker's pid."""
    return os.getpid()


# -- W3 --------------------------------------------------------------------------------------


@tarry.task
def stamp(i: int) -> float:
    """The wall clock, journaled: the first thing a round does once its wait returned."""
    return time.time()


@tarry.flow
def w3_round(i: int) -> float:
    """One W3 round (a child run): pause for an approval, then stamp the time."""
    tarry.pause_flow_run(wait_for_input=Approval, timeout=3600)
    return stamp(i)


@tarry.flow
def w3_driver(rounds: int) -> int:
    """W3: `rounds` child runs one after another, each waiting resident for its answer."""
    for i in range(rounds):
        w3_round(i)
    return os.getpid()


# -- W4 --------------------------------------------------------------------------------------


@tarry.flow
def w4_pong(n: int) -> int:
    """W4: answer `n` messages, each with `message.respond(value)`; returns the pid."""
    messages = tarry.receive_input(int, timeout=1800, with_metadata=True)
    for answered, message in enumerate(messages, start=1):
        message.respond(message.value)
        if answered == n:
            break
    return os.getpid()


@tarry.flow
def w4_ping(peer: str, n: int) -> dict[str, Any]:
    """W4: `n` round trips to `peer`: send `i`, receive the reply (timed with perf_counter)."""
    rtts = []
    for i in range(n):
        t0 = time.perf_counter()
        tarry.send_input(i, peer)
        for value in tarry.receive_input(int, timeout=1800):
            assert value == i, (value, i)
            break
        rtts.append(time.perf_counter() - t0)
    return {"pid": os.getpid(), "run_id": runtime.flow_run.id, "rtts": rtts}


# -- W5 --------------------------------------------------------------------------------------


@tarry.flow
def w5_waiter(i: int) -> int:
    """W5: wait for an approval; returns the pid of the worker that finished it."""
    answer = tarry.pause_flow_run(wait_for_input=Approval, timeout=3600)
    assert answer.approved
    return os.getpid()


# -- takeover --------------------------------------------------------------------------------


@tarry.task
def busy(seconds: float) -> int:
    """A step that works `seconds`: the kill lands in its middle."""
    time.sleep(seconds)
    return os.getpid()


@tarry.flow
def takeover(seconds: float) -> int:
    """`pg_takeover.py`: one long step; returns the pid of the worker that finished it."""
    return busy(seconds)


# -- work queues -------------------------------------------------------------------------------


def _count(path: str, step: int) -> None:
    """Add `step` to the count in `path` (`now most`), under an exclusive lock of the file."""
    with open(path, "r+") as probe:
        fcntl.flock(probe, fcntl.LOCK_EX)
        now, most = (int(x) for x in probe.read().split())
        now += step
        probe.seek(0)
        probe.write(f"{now} {max(most, now)}".ljust(40))
        probe.truncate()


@tarry.flow
def counted(probe_path: str, hold: float = 0.005) -> int:
    """Queue claims: counts itself in its queue's probe file while it holds its slot.

    The file's second number is the most runs of the queue that executed at once, as
    the flows themselves saw it, across every worker process (a file lock, not the
    database: counting must not load what it measures).
    """
    _count(probe_path, 1)
    try:
        time.sleep(hold)
    finally:
        _count(probe_path, -1)
    return os.getpid()
