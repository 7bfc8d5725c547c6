"""Flows for the fleet tests (`tests/e2e/test_fleet.py`): many processes on one PostgreSQL schema.

Workers import this file from its path, so it needs nothing but tarry and the standard library.

Every execution of a `work` step appends two lines to an executions file: `start` before its body
and `finish` after it, each naming the run, the step, the execution (a fresh uuid per execution),
the process and the time. The step returns its execution's uuid, so the journal says which
execution's result was recorded; the test compares the file with the journal.

Run as a script (`python fleet.py launch LOG PREFIX THREADS [SECONDS NAP]`) it is a launcher,
as people's scripts are: each of THREADS threads calls `errand` in turn, in this process, until
a file `LOG.stop` exists (see `tests/e2e/kill_harness.py`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from typing import Any

from tarry import (
    flow,
    pause_flow_run,
    receive_input,
    runtime,
    send_input,
    sleep,
    suspend_flow_run,
    task,
    wait_for_input,
)

TIMER_SECONDS = 1.0
"""How long `errand` waits for an input nobody gives before its timeout outcome applies."""

NOBODY_ANSWERED = "nobody answered"
"""`errand`'s timeout outcome."""


def mark(log: str, what: str, step: str, execution: str) -> None:
    """Append one line to the executions file, in one `write` (O_APPEND: lines never mix)."""
    line = f"{what} {runtime.flow_run.id} {step} {execution} {os.getpid()} {time.time():.6f}\n"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@task
def work(log: str, step: str, seconds: float) -> str:
    """A step that takes `seconds`; returns the uuid of the execution whose result is kept."""
    execution = uuid.uuid4().hex
    mark(log, "start", step, execution)
    time.sleep(seconds)
    mark(log, "finish", step, execution)
    return execution


@flow
def errand(
    log: str,
    label: str,
    peer: str | None = None,
    expect_peer: bool = False,
    seconds: float = 0.02,
    nap: float = 0.0,
) -> dict[str, Any]:
    """Steps around an answer, messages (from the API and from a peer run) and timers.

    Args:
        log: The executions file.
        label: Names this run in what it is sent and what it sends.
        peer: A run to send `hello from <label>` to.
        expect_peer: Wait for such a hello besides the message from the API.
        seconds: How long each step works.
        nap: If not 0, a durable `sleep` of that many seconds after the messages.
    """
    executions = {"prepare": work(log, "prepare", seconds)}
    answer = pause_flow_run(str, key="approval", timeout=600)
    executions["approved"] = work(log, "approved", seconds)
    if peer is not None:
        send_input(f"hello from {label}", peer, sender=label)
    expected = 2 if expect_peer else 1
    heard: list[str] = []
    for text in receive_input(str, timeout=600):
        heard.append(text)
        if len(heard) == expected:
            break
    executions["heard"] = work(log, "heard", seconds)
    if nap:
        sleep(nap)
    timer = wait_for_input("never", str, timeout=TIMER_SECONDS, on_timeout=NOBODY_ANSWERED)
    executions["done"] = work(log, "done", seconds)
    return {
        "label": label,
        "answer": answer,
        "messages": sorted(heard),
        "timer": timer,
        "executions": executions,
    }


@flow
def steps(log: str, n: int = 3, seconds: float = 1.0) -> list[str]:
    """`n` steps in a row, `s0`, `s1`, ..., each working `seconds`."""
    return [work(log, f"s{i}", seconds) for i in range(n)]


@flow
def contested(messages: int = 2, suspend: bool = False) -> dict[str, Any]:
    """Waits for one answer (in memory, or with `suspend` out of it), then for `messages`
    messages; returns them."""
    wait = suspend_flow_run if suspend else pause_flow_run
    answer = wait(str, key="question", timeout=600)
    heard: list[str] = []
    for text in receive_input(str, timeout=600):
        heard.append(text)
        if len(heard) == messages:
            break
    return {"answer": answer, "messages": sorted(heard)}


@task
def woke() -> dict[str, Any]:
    """When and where the run went on after its wait, as a step."""
    return {"at": time.time(), "pid": os.getpid()}


@flow
def parked() -> dict[str, Any]:
    """Waits for an answer, then records when and where it went on."""
    answer = pause_flow_run(str, key="go", timeout=600)
    return {"answer": answer, "woke": woke()}


def launch(log: str, prefix: str, threads: int, seconds: float, nap: float) -> None:
    """Call `errand` over and over in `threads` threads until `log + ".stop"` exists."""

    def errands(thread: int) -> None:
        number = 0
        while not os.path.exists(log + ".stop"):
            errand(log, f"{prefix}-{thread}-{number}", seconds=seconds, nap=nap)
            number += 1

    workers = [threading.Thread(target=errands, args=(i,)) for i in range(threads)]
    print(f"launching {threads} threads", flush=True)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__" and sys.argv[1:2] == ["launch"]:
    log_, prefix_, threads_, *timing = sys.argv[2:]
    launch(log_, prefix_, int(threads_), *(float(x) for x in timing or (0.02, 0.0)))
