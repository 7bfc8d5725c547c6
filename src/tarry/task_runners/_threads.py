"""The runner protocol, and `ThreadPoolTaskRunner`: submitted tasks on threads of this process."""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import os
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

__all__ = ["TaskRunner", "ThreadPoolTaskRunner"]

R = TypeVar("R")


class TaskRunner(Protocol):
    """Runs submitted task calls; one is made fresh for every flow run."""

    def duplicate(self) -> TaskRunner:
        """A new, unstarted runner with the same settings."""

    def submit(self, fn: Callable[[], R]) -> cf.Future[R]:
        """Start `fn` and return its future."""

    def shutdown(self) -> None:
        """Release the runner's workers once submitted work is done."""


class ThreadPoolTaskRunner:
    """Runs submitted tasks on a pool of threads.

    Args:
        max_workers: The most tasks running at once; by default
            `min(32, cpu count + 4)`, as `concurrent.futures` chooses.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._pool: cf.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers})"

    def duplicate(self) -> ThreadPoolTaskRunner:
        """See `TaskRunner.duplicate`."""
        return ThreadPoolTaskRunner(self.max_workers)

    def submit(self, fn: Callable[[], R]) -> cf.Future[R]:
        """Run `fn` on the pool, inside a copy of the caller's context."""
        with self._lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(self.max_workers, "tarry-task")
        return self._pool.submit(contextvars.copy_context().run, fn)

    def shutdown(self) -> None:
        """See `TaskRunner.shutdown`."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
