"""Task results cached across runs: a call's cache key, a hit, and what a miss stores.

The journal makes a step run once per run. A task with a cache policy
(`@task(cache_policy=...)` or `cache_key_fn=`) also shares its results across
runs and processes, through the store's `CacheStore`: before the call, its key
is looked up; an entry that has not expired becomes the step's result without
calling the function (the step names the key in `cached_from`); otherwise the
function runs and its result is stored under the key, until `cache_expiration`.

`plan` and `hit_step` decide without I/O and serve both drivers in `steps`;
`look_up` and `remember` are the store's reads and writes, which the async
driver runs off its event loop. Expiry is measured on the host's clock, so the
test harness's clock moves it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import logging
from typing import TYPE_CHECKING, Any

from tarry import errors, serialization
from tarry.engine import run_logs
from tarry.states import StepStatus
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.engine import context, spec

__all__ = ["Plan", "hit_step", "look_up", "plan", "remember"]


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one task call uses the cache."""

    key: str
    """Its cache key."""
    task_name: str
    """The task called."""
    step_key: str
    """The step's journal key, for its log lines."""
    label: str
    """How the console names the step."""
    refresh: bool
    """Call the task even on a hit, and store its new result (`refresh_cache=True`)."""
    expires_in: float | None
    """Seconds a stored result is used (`None`: for ever)."""


def plan(
    ctx: context.RunContext,
    task: spec.TaskSpec[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    step_key: str,
    label: str,
) -> Plan | None:
    """The cache key of this call, or `None` when the call is not cached.

    Inputs that cannot be made JSON leave the call uncached, with the reason logged.

    Raises:
        errors.CacheKeyError: The task's `cache_key_fn` (or own policy) raised.
    """
    policy = task.cache_policy
    inputs = None if policy is None else _inputs(task, args, kwargs)
    if policy is None or inputs is None:
        return None
    parameters = serialization.loads(ctx.run.parameters) or {}
    try:
        key = policy.compute_key(task, inputs, parameters, run_id=ctx.run.id)
    except errors.SerializationError as exc:
        _log(ctx, step_key, label, logging.WARNING, "Not cached: %s", exc)
        return None
    except errors.CacheKeyError:
        raise
    except Exception as exc:
        raise errors.CacheKeyError(
            f"task {task.name!r}: its cache policy {policy!r} raised "
            f"{type(exc).__name__}: {exc}; the task was not called",
            task_name=task.name,
        ) from exc
    if key is None:
        return None
    expiration = task.cache_expiration
    seconds = None if expiration is None else expiration.total_seconds()
    return Plan(key, task.name, step_key, label, task.refresh_cache, seconds)


def _inputs(
    task: spec.TaskSpec[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any] | None:
    """The call's arguments by parameter name, defaults filled in; `None` if they misfit."""
    try:
        bound = inspect.signature(task.fn).bind(*args, **kwargs)
    except TypeError:
        return None  # the call itself raises the TypeError, uncached
    bound.apply_defaults()
    return dict(bound.arguments)


def look_up(ctx: context.RunContext, found: Plan | None) -> records.CacheEntry | None:
    """The cached result the call returns instead of running, or `None` (a miss)."""
    if found is None:
        return None
    if found.refresh:
        _log(
            ctx,
            found.step_key,
            found.label,
            logging.INFO,
            "refresh_cache: calling the task; its result replaces cache key %s",
            found.key,
        )
        return None
    entry = ctx.host.store.get_cached(found.key, ctx.host.clock.now())
    if entry is not None:
        _log(
            ctx,
            found.step_key,
            found.label,
            logging.INFO,
            "Cache hit: key %s, stored by run %s; the task is not called",
            found.key,
            entry.run_id,
        )
    return entry


def hit_step(opened: records.StepRecord, entry: records.CacheEntry) -> records.StepRecord:
    """The journal entry of a step served from `entry`: completed, its task not called."""
    return dataclasses.replace(
        opened,
        status=StepStatus.COMPLETED,
        result=entry.result,
        error=None,
        attempts=0,
        cached_from=entry.key,
    )


def remember(ctx: context.RunContext, found: Plan | None, step: records.StepRecord) -> None:
    """Store a completed step's result under its call's key (a failure is never cached)."""
    if found is None or step.status is not StepStatus.COMPLETED or step.result is None:
        return
    now = ctx.host.clock.now()
    until = None if found.expires_in is None else now + found.expires_in
    entry = records.CacheEntry(
        found.key, found.task_name, step.result, now, until, step.run_id, step.key
    )
    try:
        ctx.host.store.put_cached(entry)
    except errors.StoreError as exc:
        # The step is journaled already: the run goes on, only later runs miss it.
        _log(ctx, found.step_key, found.label, logging.WARNING, "Result not cached: %s", exc)
        return
    expires = "for ever" if until is None else f"until {_iso(until)}"
    _log(
        ctx,
        found.step_key,
        found.label,
        logging.INFO,
        "Result cached under key %s, %s",
        found.key,
        expires,
    )


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")


def _log(
    ctx: context.RunContext, step_key: str, label: str, level: int, msg: str, *args: object
) -> None:
    run_logs.log_run_event(ctx, level, msg, *args, step_key=step_key, label=label)
