"""The input boundary's cost per request (no store, no network): one JSON line.

Usage: python boundary_cost.py [ROUNDS=20000]

Times what the boundary adds to one answer's request, in µs, as medians of
batches: `tarry.boundary.check` on the answer and its texts (twice, as
`service` and `engine.answers` both check it), and the body limit's counting
`receive` around one ASGI request. Three answers: finance challenge 4's
`{"decision": "Approve"}`, a 20-field form, and a 50 KB note. The budget is
50 µs per request (issue 25).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from common import emit, summary

from tarry import _version, boundary, config
from tarry.web import limits

BATCHES = 20

SETTINGS = config.Settings()

ANSWERS: dict[str, Any] = {
    "small": {"decision": "Approve"},
    "form": {f"field_{i}": ("some text" if i % 2 else i * 1.5) for i in range(20)},
    "note_50kb": {"text": "x" * 50_000, "tags": ["a", "b", "c"], "score": 0.5},
}


def _check(answer: Any) -> Callable[[], None]:
    def once() -> None:
        boundary.check(SETTINGS, "the answer", answer, responder="ada", wait_id="w-1")
        boundary.check(SETTINGS, "the answer", answer)

    return once


def _body_limit() -> Callable[[], None]:
    """One request through `BodyLimit` to an app that reads its 1 KB body."""
    body = b"x" * 1024
    scope = {"type": "http", "headers": [(b"content-length", b"1024")]}

    async def app(_scope: Any, receive: Any, _send: Any) -> None:
        await receive()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(_message: Any) -> None:
        return None

    limited = limits.BodyLimit(app, max_bytes=SETTINGS.max_body_bytes)

    def once() -> None:
        coroutine = limited(scope, receive, send)
        try:
            coroutine.send(None)  # the app never suspends: it completes in one step
        except StopIteration:
            return
        raise RuntimeError("BodyLimit suspended")

    return once


def _us_per_call(func: Callable[[], None], rounds: int) -> dict[str, float]:
    per_batch = max(1, rounds // BATCHES)
    samples = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(per_batch):
            func()
        samples.append((time.perf_counter() - started) / per_batch)
    return summary(samples, scale=1e6)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    checks = {name: _us_per_call(_check(a), rounds) for name, a in ANSWERS.items()}
    body = _us_per_call(_body_limit(), rounds)
    small_total = checks["small"]["median"] + body["median"]
    emit(
        {
            "bench": "boundary_cost",
            "engine": "tarry",
            "version": _version.__version__,
            "rounds": rounds,
            "check_us": checks,
            "body_limit_us": body,
            "small_request_us": round(small_total, 3),
            "budget_us": 50,
        }
    )


if __name__ == "__main__":
    main()
