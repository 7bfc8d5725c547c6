"""Blocking store calls made from async code, off the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["offload"]

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
