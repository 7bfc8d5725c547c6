"""What a cached task's key is made of, named as Prefect's `prefect.cache_policies`.

A task given a `cache_policy` (or a `cache_key_fn`) and called in a flow looks its
key up in the store first: a result stored under that key by any earlier run, in
any process, is returned without calling the function. Within one run the journal
already returns a finished step's result, so a policy matters across runs.

* `INPUTS`: the call's arguments by parameter name; `INPUTS - "client"` leaves one out.
* `TASK_SOURCE`: the task function's source code.
* `FLOW_PARAMETERS`: the run's parameters.
* `RUN_ID`: the run's id (a result shared by the calls of one run only).
* `DEFAULT`: `INPUTS + TASK_SOURCE + RUN_ID`, as Prefect's: a result shared within
  one run, which the journal does already; `INPUTS + TASK_SOURCE` caches across runs.
* `NO_CACHE`: no key, no caching (what a task without a policy does).

Policies compose with `+`. A key is the SHA-256 of canonical JSON (sorted keys,
sorted sets), so it is the same in every process; the keys these policies compute
include the task's name, so two tasks never share a result by accident, while a
key from a `cache_key_fn` or an own `CachePolicy` is used as given (tasks that
return the same key share the result, as in Prefect).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections.abc import Callable
from typing import Any

from tarry import errors, serialization

__all__ = [
    "DEFAULT",
    "FLOW_PARAMETERS",
    "INPUTS",
    "NO_CACHE",
    "RUN_ID",
    "TASK_SOURCE",
    "CacheKeyContext",
    "CacheKeyFnPolicy",
    "CachePolicy",
    "CompoundCachePolicy",
    "FlowParameters",
    "Inputs",
    "RunId",
    "TaskSource",
]

_TAG = "__tarry__"


class CachePolicy:
    """How a task call's cache key is computed; subclass it and define `compute_key`."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """The call's cache key, or `None` for "do not cache this call".

        Args:
            task: The task being called (`task.name`, `task.fn`).
            inputs: The call's arguments by parameter name, defaults filled in.
            flow_parameters: The parameters of the run that calls it.
            **kwargs: `run_id`, the id of that run.

        Raises:
            errors.SerializationError: A value the key needs cannot be made JSON; the
                call then runs without caching, and the reason is logged.
        """
        raise NotImplementedError

    def parts(self) -> tuple[CachePolicy, ...]:
        """The policies this one is made of, for `+` (itself, for a single policy)."""
        return (self,)

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        merged: list[CachePolicy] = []
        for part in (*self.parts(), *other.parts()):
            if part not in merged:
                merged.append(part)
        if not merged:
            return NO_CACHE
        return merged[0] if len(merged) == 1 else CompoundCachePolicy(tuple(merged))

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        raise TypeError(f"{self!r} has no inputs to leave {name!r} out of; use INPUTS - {name!r}")


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"only a parameter name (a str) can be left out, not {name!r}")


@dataclasses.dataclass(frozen=True)
class CompoundCachePolicy(CachePolicy):
    """Several policies at once (`INPUTS + TASK_SOURCE`): a key made of all their keys."""

    policies: tuple[CachePolicy, ...]
    """The policies combined, in order."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """See `CachePolicy.compute_key`; `None` when no part gives a key."""
        keys = [p.compute_key(task, inputs, flow_parameters, **kwargs) for p in self.policies]
        present = [key for key in keys if key is not None]
        return _sha256(present) if present else None

    def parts(self) -> tuple[CachePolicy, ...]:
        """See `CachePolicy.parts`."""
        return self.policies

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        if not any(isinstance(p, Inputs) for p in self.policies):
            return super().__sub__(name)
        kept = tuple(p - name if isinstance(p, Inputs) else p for p in self.policies)
        return CompoundCachePolicy(kept)

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.policies))


@dataclasses.dataclass(frozen=True)
class Inputs(CachePolicy):
    """The call's arguments, by parameter name, except those in `exclude`."""

    exclude: tuple[str, ...] = ()
    """Parameters left out of the key (`INPUTS - "name"` adds one)."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """See `CachePolicy.compute_key`."""
        kept = {name: v for name, v in inputs.items() if name not in self.exclude}
        encoded = {name: _encoded(task, f"parameter {name!r}", v) for name, v in kept.items()}
        return _task_key("inputs", task, encoded)

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        return self if name in self.exclude else Inputs((*self.exclude, str(name)))

    def __repr__(self) -> str:
        return "INPUTS" + "".join(f" - {name!r}" for name in self.exclude)


@dataclasses.dataclass(frozen=True)
class TaskSource(CachePolicy):
    """The task function's source code: editing the function starts a fresh cache."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """See `CachePolicy.compute_key`."""
        return _task_key("source", task, _source(getattr(task, "fn", task)))

    def __repr__(self) -> str:
        return "TASK_SOURCE"


def _source(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        # No source file (a REPL, a zipped app): the compiled code stands in for it.
        code = getattr(fn, "__code__", None)
        compiled = code.co_code.hex() if code is not None else ""
        return f"{getattr(fn, '__qualname__', repr(fn))}:{compiled}"


@dataclasses.dataclass(frozen=True)
class FlowParameters(CachePolicy):
    """The parameters of the run calling the task."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """See `CachePolicy.compute_key`."""
        return _task_key(
            "flow_parameters", task, _encoded(task, "the flow's parameters", flow_parameters)
        )

    def __repr__(self) -> str:
        return "FLOW_PARAMETERS"


@dataclasses.dataclass(frozen=True)
class RunId(CachePolicy):
    """The id of the run calling the task: a result is shared within that run only."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """See `CachePolicy.compute_key`; `None` outside a run."""
        run_id = kwargs.get("run_id")
        return None if run_id is None else _task_key("run_id", task, run_id)

    def __repr__(self) -> str:
        return "RUN_ID"


@dataclasses.dataclass(frozen=True)
class _NoCache(CachePolicy):
    """No key: the task is called every time (the default)."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        return None

    def parts(self) -> tuple[CachePolicy, ...]:
        return ()

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        return self

    def __repr__(self) -> str:
        return "NO_CACHE"


@dataclasses.dataclass(frozen=True)
class CacheKeyContext:
    """What a `cache_key_fn(context, parameters)` is told about the call."""

    task: Any
    """The task being called."""
    run_id: str | None
    """The id of the run calling it."""
    parameters: dict[str, Any]
    """The call's arguments by parameter name (the function's second argument too)."""
    flow_parameters: dict[str, Any]
    """The parameters of the run calling it."""


@dataclasses.dataclass(frozen=True)
class CacheKeyFnPolicy(CachePolicy):
    """A key chosen by a function `(context, parameters) -> str | None` (`cache_key_fn=`)."""

    cache_key_fn: Callable[[CacheKeyContext, dict[str, Any]], str | None]
    """The function; `None` from it means "do not cache this call"."""

    def compute_key(
        self, task: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        """See `CachePolicy.compute_key`.

        Raises:
            errors.CacheKeyError: The function raised, or returned something other
                than a `str` or `None`.
        """
        context = CacheKeyContext(task, kwargs.get("run_id"), dict(inputs), flow_parameters)
        fn = self.cache_key_fn
        about = f"task {task.name!r}: its cache_key_fn {getattr(fn, '__qualname__', fn)!r}"
        try:
            key = fn(context, dict(inputs))
        except Exception as exc:
            raise errors.CacheKeyError(
                f"{about} raised {type(exc).__name__}: {exc}; the task was not called",
                task_name=task.name,
            ) from exc
        if key is not None and not isinstance(key, str):
            raise errors.CacheKeyError(
                f"{about} returned a {type(key).__name__}, not a str or None",
                task_name=task.name,
            )
        return key


def _encoded(task: Any, what: str, value: Any) -> Any:
    try:
        return _sorted(serialization.encode(value))
    except errors.SerializationError as exc:
        raise errors.SerializationError(f"task {task.name!r}: {what}: {exc}") from exc


def _sorted(data: Any) -> Any:
    """Encoded data whose sets and non-str-keyed dicts list their items in one order."""
    if isinstance(data, list):
        return [_sorted(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {key: _sorted(item) for key, item in data.items()}
    if out.get(_TAG) in ("set", "frozenset", "dict"):
        out["items"] = sorted(out["items"], key=_dumps)
    return out


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(data: Any) -> str:
    return hashlib.sha256(_dumps(data).encode()).hexdigest()


def _task_key(kind: str, task: Any, data: Any) -> str:
    return _sha256([kind, task.name, data])


INPUTS: CachePolicy = Inputs()
"""The call's arguments by parameter name."""
TASK_SOURCE: CachePolicy = TaskSource()
"""The task function's source code."""
FLOW_PARAMETERS: CachePolicy = FlowParameters()
"""The calling run's parameters."""
RUN_ID: CachePolicy = RunId()
"""The calling run's id."""
NO_CACHE: CachePolicy = _NoCache()
"""No caching: the task is called every time."""
DEFAULT: CachePolicy = INPUTS + TASK_SOURCE + RUN_ID
"""`INPUTS + TASK_SOURCE`: the same call of the same code, in any run."""
