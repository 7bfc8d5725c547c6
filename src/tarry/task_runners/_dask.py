"""`DaskTaskRunner`: submitted tasks' functions computed on a Dask cluster."""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tarry.task_runners import _remote, _threads

__all__ = ["DaskTaskRunner"]

R = TypeVar("R")


class DaskTaskRunner:
    """Runs submitted tasks' functions on a Dask cluster (`pip install 'tarry[dask]'`).

    As `prefect_dask.task_runners.DaskTaskRunner`: by default each flow run starts a
    `distributed.LocalCluster` (worker processes on this machine) at its first
    submit and closes it when the flow ends; `address` uses a running cluster.
    Journaling stays in the flow's process: a finished task is never sent again on
    replay. Functions and arguments travel pickled (Dask's cloudpickle); results
    come back and are stored as JSON like any task's. A task past its
    `timeout_seconds` is interrupted where it is, in its worker, as a timed task is
    on threads (`tarry.interrupts`); its time on the cluster's queue does not count.

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
        self._local = _threads.ThreadPoolTaskRunner(max_workers=32)
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
            _remote.install_remote_call(
                lambda call, args, kwargs, seconds: _compute(client, call, args, kwargs, seconds)
            )
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
    # Any free port: two flows' clusters on one machine never fight over Dask's 8787.
    cluster = make(**{"dashboard_address": ":0", **runner.cluster_kwargs})
    return client(cluster, **runner.client_kwargs), cluster


def _compute(
    client: Any,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seconds: float | None,
) -> Any:
    module = _remote.file_module(fn)
    if module is not None:
        # Dask's own pickler, installed with Dask.
        importlib.import_module("cloudpickle").register_pickle_by_value(module)
    # pure=False: two calls with equal arguments are two runs of the task, as here.
    # The worker enforces the timeout where the code runs, so time spent queued on a
    # busy cluster does not count against it.
    future = client.submit(_remote.call_in_worker, fn, args, kwargs, seconds, pure=False)
    try:
        return future.result()
    except BaseException:
        if not future.done():  # this step is stopping: the cluster need not go on
            client.cancel(future, force=True)
        raise
