"""Futures of submitted tasks: `TarryFuture`, `wait` and `as_completed`."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterable, Iterator
from typing import Any, Generic, NamedTuple, TypeVar

from tarry import interrupts

__all__ = ["DoneAndNotDoneFutures", "TarryFuture", "as_completed", "resolve_futures", "wait"]

R = TypeVar("R")


class TarryFuture(Generic[R]):
    """The eventual result of a task submitted with `Task.submit`.

    Args:
        inner: The executor's future.
        step_key: The step's journal key.
        task_name: The task's name.
    """

    def __init__(self, inner: cf.Future[R], step_key: str, task_name: str) -> None:
        self._inner = inner
        self.step_key = step_key
        self.task_name = task_name

    def __repr__(self) -> str:
        return f"TarryFuture({self.task_name!r}, step={self.step_key}, state={self.state})"

    @property
    def state(self) -> str:
        """`Pending`, `Running`, `Completed` or `Failed`."""
        if not self._inner.done():
            return "Running" if self._inner.running() else "Pending"
        return "Failed" if self._inner.exception() is not None else "Completed"

    def done(self) -> bool:
        """Whether the task finished."""
        return self._inner.done()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the task finished or `timeout` seconds passed."""
        timeout = interrupts.wait_done([self._inner], timeout)
        cf.wait([self._inner], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        """The task's return value.

        Args:
            timeout: Seconds to wait at most.
            raise_on_failure: Re-raise the task's error (else return the error).

        Raises:
            TimeoutError: The task did not finish in time.
        """
        if raise_on_failure:
            return self._inner.result(interrupts.wait_done([self._inner], timeout))
        self.wait(timeout)
        error = self._inner.exception(0)
        return error if error is not None else self._inner.result(0)  # type: ignore[return-value]

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The task's error, or `None` when it completed."""
        return self._inner.exception(timeout)

    def add_done_callback(self, fn: Any) -> None:
        """Call `fn(self)` when the task finishes."""
        self._inner.add_done_callback(lambda _: fn(self))


class DoneAndNotDoneFutures(NamedTuple, Generic[R]):
    """What `wait` returns."""

    done: set[TarryFuture[R]]
    """Futures that finished."""
    not_done: set[TarryFuture[R]]
    """Futures still running at the timeout."""


def wait(
    futures: Iterable[TarryFuture[R]], timeout: float | None = None
) -> DoneAndNotDoneFutures[R]:
    """Wait for all `futures` to finish, or for `timeout` seconds.

    Returns:
        The finished and unfinished futures.
    """
    by_inner = {f._inner: f for f in futures}
    timeout = interrupts.wait_done(list(by_inner), timeout)
    done, not_done = cf.wait(by_inner, timeout=timeout)
    return DoneAndNotDoneFutures({by_inner[f] for f in done}, {by_inner[f] for f in not_done})


def as_completed(
    futures: Iterable[TarryFuture[R]], timeout: float | None = None
) -> Iterator[TarryFuture[R]]:
    """Yield `futures` as they finish.

    Raises:
        TimeoutError: Some futures did not finish within `timeout` seconds.
    """
    by_inner = {f._inner: f for f in futures}
    for inner in cf.as_completed(by_inner, timeout=timeout):
        yield by_inner[inner]


def resolve_futures(value: Any) -> Any:
    """`value` with futures (also inside lists, tuples, sets and dicts) replaced by results."""
    if isinstance(value, TarryFuture):
        return value.result()
    if isinstance(value, list | tuple | set):
        if not any(isinstance(v, TarryFuture) for v in value):
            return value
        return type(value)(resolve_futures(v) for v in value)
    if isinstance(value, dict) and any(isinstance(v, TarryFuture) for v in value.values()):
        return {k: resolve_futures(v) for k, v in value.items()}
    return value
