"""`RayTaskRunner`: submitted tasks' functions computed on a Ray cluster."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tarry import errors
from tarry.task_runners import _remote, _threads

__all__ = ["RayTaskRunner"]

R = TypeVar("R")


class RayTaskRunner:
    """Runs submitted tasks' functions on a Ray cluster (`pip install 'tarry[ray]'`).

    As `prefect_ray.task_runners.RayTaskRunner`: with no `address` a flow run starts
    a local Ray (worker processes on this machine, one CPU each task by default) at
    its first submit and shuts it down when the flow ends; `address` connects to a
    running cluster instead. Ray is one per process: flow runs at once share it, and
    a Ray that the program started itself is used and left running. Journaling stays
    in the flow's process: a finished task is never sent again on replay. Functions
    and arguments travel pickled (cloudpickle); a task's error comes back as its own
    exception type; Ray never retries a task itself (`max_retries=0`), tarry's
    `retries` do. A task past its `timeout_seconds` is stopped by killing its worker
    process (`ray.cancel(force=True)`). `remote_options` blocks set each task's
    resources.

    Args:
        address: `"auto"` for the cluster this machine belongs to, `"ray://host:10001"`
            for a remote cluster through Ray Client, or a head's `host:port`.
        init_kwargs: More arguments of `ray.init`, e.g. `{"num_cpus": 4}` or a
            `runtime_env`.
    """

    def __init__(
        self, address: str | None = None, init_kwargs: dict[str, Any] | None = None
    ) -> None:
        self.address = address
        self.init_kwargs = dict(init_kwargs or {})
        self._local = _threads.ThreadPoolTaskRunner(max_workers=32)
        self._joined = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RayTaskRunner({self.address or 'local'})"

    def duplicate(self) -> RayTaskRunner:
        """See `TaskRunner.duplicate`."""
        return RayTaskRunner(self.address, self.init_kwargs)

    def submit(self, fn: Callable[[], R]) -> cf.Future[R]:
        """Run the step `fn` here; its task's function is computed by Ray."""
        call = _RayCall(self._started(), _remote.current_remote_options().as_ray_options())

        def step() -> R:
            _remote.install_remote_call(call)
            return fn()

        return self._local.submit(step)

    def shutdown(self) -> None:
        """Wait for submitted steps, then shut down a Ray that this flow run started."""
        self._local.shutdown()
        with self._lock:
            joined, self._joined = self._joined, False
        if joined:
            _PROCESS.leave()

    def _started(self) -> Any:
        with self._lock:
            if not self._joined:
                _PROCESS.join(self.address, self.init_kwargs)
                self._joined = True
            return _PROCESS.remote


class _RayProcess:
    """This process's use of Ray: started by the first runner, shut down by the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._owned = False
        self._address: str | None = None
        self.remote: Any = None
        """`call_in_worker` as a Ray remote function of the current Ray."""

    def join(self, address: str | None, init_kwargs: dict[str, Any]) -> None:
        """Count one more runner in, starting or connecting to Ray for the first.

        Raises:
            errors.ConfigurationError: Ray already runs here for another address.
        """
        with self._lock:
            if self._users == 0:
                self._start(address, init_kwargs)
            elif self._owned and address != self._address:
                raise errors.ConfigurationError(
                    f"RayTaskRunner(address={address!r}): this process already uses Ray at"
                    f" {self._address or 'a local instance'}, and a process has one Ray at a time"
                )
            self._users += 1

    def leave(self) -> None:
        """Count one runner out; the last one shuts down a Ray that a runner started."""
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._owned:
                self._owned, self.remote = False, None
                _ray().shutdown()

    def _start(self, address: str | None, init_kwargs: dict[str, Any]) -> None:
        ray = _ray()
        self._owned = not ray.is_initialized()
        if self._owned:
            _init(ray, _init_arguments(address, init_kwargs))
        self._address = address
        self.remote = ray.remote(max_retries=0)(_remote.call_in_worker)


_PROCESS = _RayProcess()


def _ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise ImportError("RayTaskRunner needs Ray: pip install 'tarry[ray]'") from exc


def _init(ray: Any, arguments: dict[str, Any]) -> None:
    try:
        ray.init(**arguments)
    except Exception:
        # Ray gives its node 30 s to start; on a busy machine the first start can
        # miss that, and a second one (its files now cached) is tried once.
        if arguments.get("address") != "local":
            raise
        ray.shutdown()
        ray.init(**arguments)


def _init_arguments(address: str | None, init_kwargs: dict[str, Any]) -> dict[str, Any]:
    if address is not None:
        return {"address": address, **init_kwargs}
    # A new local Ray for the flow run ("local": never another program's cluster
    # found on this machine), with no dashboard, and Ray's own start-up notes kept
    # out of the flow's output (the tasks' prints still reach it).
    quiet = {"include_dashboard": False, "logging_level": logging.ERROR}
    return {"address": "local", **quiet, **init_kwargs}


@dataclasses.dataclass(frozen=True)
class _RayCall:
    """The remote call of a step submitted to Ray, with the options it was submitted with."""

    remote: Any
    options: dict[str, Any]

    def __call__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        seconds: float | None,
    ) -> Any:
        ray = _ray()
        module = _remote.file_module(fn)
        if module is not None:
            ray.cloudpickle.register_pickle_by_value(module)
        name = getattr(fn, "__name__", "task")
        ref = self.remote.options(name=name, **self.options).remote(fn, args, kwargs)
        ready, _ = ray.wait([ref], timeout=seconds)
        if not ready:
            ray.cancel(ref, force=True)
            raise errors.TaskTimeout(
                "stopped on the Ray cluster: its worker process was killed (ray.cancel force=True)"
            )
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            raise _cause(exc) from exc


def _cause(exc: Any) -> BaseException:
    """The task's own exception inside Ray's wrapper, or the wrapper if it has none."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
