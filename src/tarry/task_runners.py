"""Where submitted tasks run: `ThreadPoolTaskRunner`, and `DaskTaskRunner` on a Dask cluster.

A runner runs the *whole* submitted step in this process: the journal lookup, the
call and the recording of its outcome. A runner that computes elsewhere (Dask)
sends only the task's own function call away: it installs a remote call for the
step's thread (`remote_call`), which `tarry.steps` uses to invoke the function, so
the journal stays with the flow and a replay never sends a finished task again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import inspect
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["DaskTaskRunner", "RemoteCall", "TaskRunner", "ThreadPoolTaskRunner", "remote_call"]

R = TypeVar("R")

RemoteCall = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]
"""Calls a task's function with its arguments somewhere else and returns its value."""

_remote: contextvars.ContextVar[RemoteCall | None] = contextvars.ContextVar(
    "tarry_remote_call", default=None
)


def remote_call() -> RemoteCall | None:
    """How the current submitted step calls its task's function, if not in this thread."""
    return _remote.get()


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


def call_in_worker(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a task's function where a remote runner sent it (a coroutine is run to its end)."""
    value = fn(*args, **kwargs)
    return asyncio.run(value) if inspect.iscoroutine(value) else value


class DaskTaskRunner:
    """Runs submitted tasks' functions on a Dask cluster (`pip install 'tarry[dask]'`).

    As `prefect_dask.task_runners.DaskTaskRunner`: by default each flow run starts a
    `distributed.LocalCluster` (worker processes on this machine) at its first
    submit and closes it when the flow ends; `address` uses a running cluster.
    Journaling stays in the flow's process: a finished task is never sent again on
    replay. Functions and arguments travel pickled (Dask's cloudpickle); results
    come back and are stored as JSON like any task's.

    Args:
        address: The scheduler of a running cluster, e.g. `tcp://10.0.0.5:8786`.
        cluster_class: The cluster to start when there is no `address`
            (default `distributed.LocalCluster`).
        cluster_kwargs: Arguments of `cluster_class`, e.g. `{"n_workers": 4}`.
        client_kwargs: Arguments of `distributed.Client`.
    """

    def __init__(
        self,
        address: str | None = None,
        cluster_class: Callable[..., Any] | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self._local = ThreadPoolTaskRunner(max_workers=32)
        self._cluster: Any = None
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.address or getattr(self.cluster_class, "__name__", "LocalCluster")
        return f"DaskTaskRunner({where})"

    def duplicate(self) -> DaskTaskRunner:
        """See `TaskRunner.duplicate`."""
        return DaskTaskRunner(
            self.address, self.cluster_class, self.cluster_kwargs, self.client_kwargs
        )

    def submit(self, fn: Callable[[], R]) -> cf.Future[R]:
        """Run the step `fn` here; its task's function is computed on the cluster."""
        client = self._started()

        def step() -> R:
            _remote.set(lambda call, args, kwargs: _compute(client, call, args, kwargs))
            return fn()

        return self._local.submit(step)

    def shutdown(self) -> None:
        """Wait for submitted steps, then close the client and any cluster this started."""
        self._local.shutdown()
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def _started(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client, self._cluster = _connect(self)
            return self._client


def _connect(runner: DaskTaskRunner) -> tuple[Any, Any]:
    try:
        import distributed  # noqa: PLC0415 - an optional dependency
    except ImportError as exc:
        raise ImportError("DaskTaskRunner needs Dask: pip install 'tarry[dask]'") from exc
    client: Callable[..., Any] = distributed.Client
    if runner.address is not None:
        return client(runner.address, **runner.client_kwargs), None
    make = runner.cluster_class or distributed.LocalCluster
    cluster = make(**{"dashboard_address": None, **runner.cluster_kwargs})
    return client(cluster, **runner.client_kwargs), cluster


def _compute(
    client: Any, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    # pure=False: two calls with equal arguments are two runs of the task, as here.
    return client.submit(call_in_worker, fn, args, kwargs, pure=False).result()
