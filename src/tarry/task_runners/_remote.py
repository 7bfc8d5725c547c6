"""What a runner that computes elsewhere shares with the steps: the remote call.

A submitted step runs in the flow's process; a runner that computes on a cluster
installs a remote call for the step's thread (`remote_call`), which `tarry.steps`
uses to invoke the task's function, so only that call travels. `remote_options`
says what resources the tasks submitted inside it ask of the cluster (Ray's).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import inspect
import math
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tarry import errors, interrupts, loader

__all__ = [
    "RemoteCall",
    "RemoteOptions",
    "call_in_worker",
    "current_remote_options",
    "file_module",
    "install_remote_call",
    "remote_call",
    "remote_options",
]

RemoteCall = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any], float | None], Any]
"""Calls a task's function with its arguments somewhere else and returns its value.

Its fourth argument is the task's `timeout_seconds` (or `None`): past it the call
is stopped where it runs and `tarry.errors.TaskTimeout` is raised, its message
saying how it was stopped.
"""

_remote: contextvars.ContextVar[RemoteCall | None] = contextvars.ContextVar(
    "tarry_remote_call", default=None
)


def remote_call() -> RemoteCall | None:
    """How the current submitted step calls its task's function, if not in this thread."""
    return _remote.get()


def install_remote_call(call: RemoteCall) -> None:
    """Make `call` the remote call of the current step's thread (a runner's job)."""
    _remote.set(call)


def file_module(fn: Callable[..., Any]) -> types.ModuleType | None:
    """The module of `fn` if tarry imported it from a file path, which workers cannot import.

    A run recovered from a script's path (`tarry worker`) has its tasks in such a
    module: a remote runner registers it with its cloudpickle to be sent by value.
    """
    name = getattr(fn, "__module__", None) or ""
    return sys.modules.get(name) if loader.is_file_module(name) else None


def call_in_worker(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seconds: float | None = None,
) -> Any:
    """Call a task's function where a remote runner sent it (a coroutine is run to its end).

    With `seconds`, the call is interrupted where it is at its deadline, in the
    worker, as a timed call is here (`tarry.interrupts`).

    Raises:
        errors.TaskTimeout: The call ran past `seconds`; the message says where it stopped.
    """

    def call() -> Any:
        value = fn(*args, **kwargs)
        return asyncio.run(value) if inspect.iscoroutine(value) else value

    if seconds is None:
        return call()
    return interrupts.call_with_deadline(call, seconds, "tarry-remote-task", _stopped_in_worker)


def _stopped_in_worker(detail: str) -> BaseException:
    return errors.TaskTimeout(f"interrupted in its worker{detail}")


@dataclasses.dataclass(frozen=True)
class RemoteOptions:
    """Resources a task asks of a Ray cluster, as `ray.remote(...).options()` takes them."""

    num_cpus: float | None = None
    """Logical CPUs the task holds while it runs (Ray's default: 1)."""
    num_gpus: float | None = None
    """GPUs the task holds while it runs."""
    memory: int | None = None
    """Bytes of memory the task reserves."""
    resources: Mapping[str, float] | None = None
    """Custom resources by name, e.g. `{"fast-disk": 1}`."""

    def merged(self, inner: RemoteOptions) -> RemoteOptions:
        """These options with each one `inner` sets taken from `inner`."""
        changes = {f.name: getattr(inner, f.name) for f in dataclasses.fields(inner)}
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_ray_options(self) -> dict[str, Any]:
        """The options that are set, by Ray's names."""
        found = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: value for name, value in found.items() if value is not None}


_NO_OPTIONS = RemoteOptions()
_options: contextvars.ContextVar[RemoteOptions] = contextvars.ContextVar(
    "tarry_remote_options", default=_NO_OPTIONS
)


def current_remote_options() -> RemoteOptions:
    """The options of the innermost `remote_options` block around this call."""
    return _options.get()


@contextlib.contextmanager
def remote_options(
    *,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    memory: int | None = None,
    resources: Mapping[str, float] | None = None,
) -> Iterator[RemoteOptions]:
    """Ask the cluster for resources for the tasks submitted inside the block.

    As `prefect_ray.context.remote_options`: `RayTaskRunner` passes them to Ray for
    every task submitted in the block (an inner block overrides the options it
    sets); the thread pool and Dask runners ignore them.

    Args:
        num_cpus: Logical CPUs each task holds.
        num_gpus: GPUs each task holds.
        memory: Bytes of memory each task reserves.
        resources: Custom resources by name.

    Yields:
        The options now in force.

    Raises:
        ValueError: An amount is negative or not a number.
    """
    asked = RemoteOptions(num_cpus, num_gpus, memory, _checked_resources(resources))
    for name in ("num_cpus", "num_gpus", "memory"):
        _check_amount(name, getattr(asked, name))
    options = _options.get().merged(asked)
    token = _options.set(options)
    try:
        yield options
    finally:
        _options.reset(token)


def _checked_resources(resources: Mapping[str, float] | None) -> Mapping[str, float] | None:
    if resources is None:
        return None
    for name, amount in resources.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"remote_options: a resource name must be text, not {name!r}")
        _check_amount(f"resources[{name!r}]", amount)
    return dict(resources)


def _check_amount(name: str, amount: object) -> None:
    if amount is None:
        return
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int | float)
        or not math.isfinite(amount)
        or amount < 0
    ):
        raise ValueError(f"remote_options: {name} must be a number of at least 0, not {amount!r}")
