"""Waiting in tests for what other threads and processes do, polled in real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["until", "until_found"]

T = TypeVar("T")


def until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """`read()` once `done` says yes to it.

    Raises:
        AssertionError: Still not done after `timeout` seconds; says what was last read.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last seen: {found!r}")
        time.sleep(0.02)


def until_found(get: Callable[[], T | None], timeout: float = 30.0) -> T:
    """The first thing `get()` returns that is not `None`.

    Raises:
        AssertionError: Still `None` after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while (found := get()) is None:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return found
