"""Time as tarry sees it: the system clock, or a fake one tests move by hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """Where deadlines and the resident window are measured."""

    def now(self) -> float:
        """The current time, in Unix seconds."""

    def block_for(self, until: float | None) -> float | None:
        """How long a parked waiter should block to reach `until` (`None`: until woken)."""


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """See `Clock.now`."""
        return time.time()

    def block_for(self, until: float | None) -> float | None:
        """See `Clock.block_for`."""
        return None if until is None else max(0.0, until - time.time())


class FakeClock:
    """A clock that only moves when told to, so an hour-long timeout takes milliseconds.

    Parked waiters block until the clock is advanced (or their wait ends); each
    `advance` wakes them and fires the timers that became due.

    Args:
        start: The time it shows at first (default: now).
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """See `Clock.now`."""
        return self._now

    def block_for(self, until: float | None) -> float | None:
        """See `Clock.block_for`: waiters block until `advance` wakes them."""
        return None

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every `advance`."""
        with self._lock:
            self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        """Move the clock forward, fire due timers and wake parked waiters."""
        with self._lock:
            self._now += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
