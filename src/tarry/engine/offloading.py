"""Blocking store calls made from async code, off the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tarry import hub

__all__ = ["offload", "reads_in_place", "write"]

T = TypeVar("T")


# Each store thread keeps its own SQLite reader connection (about 1.5 MiB), and
# more threads than this did not make group commits faster on 2 cores.
_STORE_THREADS = min(8, (os.cpu_count() or 1) + 4)
_store_pool: cf.ThreadPoolExecutor | None = None
_store_pool_lock = threading.Lock()


def _offload_pool() -> cf.ThreadPoolExecutor:
    global _store_pool  # noqa: PLW0603 - one pool per process for store calls
    with _store_pool_lock:
        if _store_pool is None:
            _store_pool = cf.ThreadPoolExecutor(_STORE_THREADS, "tarry-store")
    return _store_pool


async def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking call (a store write) off the event loop.

    Store calls get their own small pool; the writes of many coroutines gather
    into shared group commits.
    """
    call = functools.partial(fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_offload_pool(), call)


async def write(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Make the one write of store method `method` (bound to its store) from async code.

    A store that can queue a write without a thread waiting for it (SQLite's
    `write_soon`) gets it queued for its next group commit: 100,000 coroutines
    writing at once then share a few large commits, not one per store thread.
    Other stores get `offload`.
    """
    soon = getattr(getattr(method, "__self__", None), "write_soon", None)
    if soon is None:
        return await offload(method, *args, **kwargs)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def done(result: Any, error: BaseException | None) -> None:
        try:
            hub.call_soon_batched(loop, _settle, future, result, error)
        except RuntimeError:
            return  # the loop closed: nobody awaits the write any more

    soon(done, method, *args, **kwargs)
    return await future


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return  # the awaiting coroutine was cancelled
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def reads_in_place(store: object) -> bool:
    """Whether an event loop may read `store` itself: a local file (SQLite), no round trip."""
    return hasattr(store, "write_soon")
