"""`@flow` and `@task`: plain functions that tarry runs durably."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, ParamSpec, TypeVar, overload

from tarry import cache_policies, deployments, errors, futures, mapping, states, task_runners
from tarry import schedules as scheduling
from tarry.engine import caller, spec, steps
from tarry.outbound import targets

__all__ = ["Flow", "Task", "flow", "task"]

P = ParamSpec("P")
R = TypeVar("R")

# Prefect options that tarry accepts and has no use for: the journal stores every
# result as JSON and replays finished steps, so result persistence is always on and
# a run never repeats a finished step (docs/from-prefect.md gives each one's reason).
# Caching across runs (`cache_policy=`, ...) is tarry's own option.
_FLOW_NO_OPS = frozenset(
    {
        "validate_parameters",
        "persist_result",
        "result_storage",
        "result_serializer",
        "cache_result_in_memory",
    }
)
_TASK_NO_OPS = frozenset(
    {
        "description",
        "version",
        "task_run_name",
        "retry_jitter_factor",
        "persist_result",
        "result_storage",
        "result_storage_key",
        "result_serializer",
        "cache_result_in_memory",
        "viz_return_value",
        "asset_deps",
    }
)
# Prefect options that change what happens: refused until tarry does what they ask.
_FLOW_REFUSED = ("on_completion", "on_failure", "on_cancellation", "on_crashed", "on_running")
_TASK_REFUSED = ("on_completion", "on_failure", "on_rollback", "on_commit", "retry_condition_fn")


def _prefect_options(
    what: str, given: dict[str, Any], no_ops: frozenset[str], refused: tuple[str, ...]
) -> None:
    """Check Prefect's options that tarry does not keep: accept the no-ops, refuse the rest.

    Raises:
        TypeError: An option is neither tarry's nor Prefect's (a typo, say).
        errors.NotSupported: A hook or retry condition is given; tarry would not call it.
    """
    for option, value in given.items():
        if option in refused:
            if value:
                raise errors.NotSupported(
                    f"{what}: {option}= is not supported by tarry yet, and would never be "
                    "called; run that code at the end of the flow, or where it catches the "
                    "error (docs/from-prefect.md, Flow and task options)",
                    option=option,
                )
        elif option not in no_ops:
            raise TypeError(f"{what}() got an unexpected keyword argument {option!r}")


def _delays(
    retries: int, delays: float | list[float] | Callable[[int], list[float]] | None
) -> float | list[float]:
    # Prefect's `exponential_backoff(...)` is a function of the retry count.
    if delays is None:
        return 0.0
    return list(delays(retries)) if callable(delays) else delays


class Task(spec.TaskSpec[P, R]):
    """A function whose every call inside a flow is a journaled step.

    Made with `@task`. Calling it runs it (or, when its step is already in the
    journal, returns the recorded result or raises the recorded error).
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the task (a journaled step inside a flow); awaitable for `async def` tasks.

        With `return_state=True` (as in Prefect) the call returns a
        `tarry.states.State` instead of the value, and an error the task raises is
        in the state, not raised. Type checkers do not know that keyword: the
        signature they see stays the function's own.
        """
        return_state = _pop_return_state(self.fn, kwargs)
        if self.is_async:
            return _maybe_state_async(steps.call_task_async(self, args, kwargs), return_state)  # type: ignore[no-any-return]
        if return_state:
            return _state_of(lambda: steps.call_task(self, args, kwargs))  # type: ignore[return-value]
        return steps.call_task(self, args, kwargs)  # type: ignore[no-any-return]

    def submit(self, *args: Any, **kwargs: Any) -> futures.TarryFuture[Any]:
        """Start the task on the flow's task runner and return its future at once.

        Arguments may be futures of other tasks: the task waits for their results.
        """
        return steps.submit_task(self, args, kwargs)

    def map(self, *args: Any, **kwargs: Any) -> list[futures.TarryFuture[Any]]:
        """Submit one call per position of the iterable arguments, as Prefect does.

        Every iterable argument, positional or keyword, is mapped over (strings and
        bytes are values); other arguments, and those wrapped in `tarry.unmapped(...)`,
        go whole to every call. A future argument is resolved first.

        Raises:
            errors.MappingMissingIterable: No argument is iterable.
            errors.MappingLengthMismatch: The iterables differ in length.
        """
        return [self.submit(*call.args, **call.kwargs) for call in mapping.calls(args, kwargs)]

    def with_options(self, **changes: Any) -> Task[P, R]:
        """A copy of the task with some options changed (`name`, `retries`, ...).

        Raises:
            errors.NotSupported: A Prefect option tarry refuses (see `task`).
        """
        ours, prefect = _split(changes, _TASK_NO_OPS | set(_TASK_REFUSED))
        _prefect_options("with_options", prefect, _TASK_NO_OPS, _TASK_REFUSED)
        if "refresh_cache" in ours and ours["refresh_cache"] is None:
            ours["refresh_cache"] = False  # Prefect's "not set"
        return Task(self.fn, dataclasses.replace(self._options, **ours))


class Flow(spec.FlowSpec[P, R]):
    """A function whose calls are durable runs.

    Made with `@flow`. Calling it outside a run starts a run in this process and
    returns its result (an `async def` flow returns a coroutine); calling it inside
    a flow starts a child run whose result is journaled like a step.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Start a run of the flow (a child run inside a flow) and return its result.

        With `return_state=True` (as in Prefect) it returns the run's final
        `tarry.states.State` instead, the flow's error in it rather than raised; an
        `async def` flow returns a coroutine of it. Type checkers do not know that
        keyword: the signature they see stays the function's own.

        Raises:
            errors.ParameterError: The arguments do not fit the signature.
        """
        return_state = _pop_return_state(self.fn, kwargs)
        if self.is_async:
            return _maybe_state_async(caller.call_flow_async(self, args, kwargs), return_state)  # type: ignore[no-any-return]
        if return_state:
            return _state_of(lambda: caller.call_flow(self, args, kwargs))  # type: ignore[return-value]
        return caller.call_flow(self, args, kwargs)  # type: ignore[no-any-return]

    def serve(
        self,
        name: str | None = None,
        *,
        interval: Any = None,
        cron: str | Iterable[str] | None = None,
        rrule: str | Iterable[str] | None = None,
        schedules: Iterable[scheduling.Schedule] | None = None,
        paused: bool | None = None,
        missed: scheduling.MissedPolicy = "latest",
        parameters: dict[str, Any] | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        limit: int = 8,
        concurrency_limit: Any = None,
        work_pool_name: str | None = None,
        work_queue_name: str | None = None,
    ) -> None:
        """Deploy this flow (on its schedules) and execute runs in this process until interrupted.

        `cron`, `interval` (a `timedelta` or seconds) and `rrule` each take one value
        or several; `schedules` takes `tarry.schedules.Cron`, `Interval` and `RRule`
        values with their own time zone, parameters and state. `concurrency_limit`
        (an int or a `tarry.work_pools.ConcurrencyLimitConfig`) caps the runs of
        this deployment at once; `work_pool_name` and `work_queue_name` place its
        runs (this process serves that pool). See `tarry.worker.serve`,
        docs/schedules.md and docs/work-pools.md.

        Raises:
            errors.ScheduleInvalid: A schedule cannot be read.
            errors.ParameterError: The parameters do not fit the flow.
        """
        # Import cost only: `import tarry` need not load the worker, which few programs use.
        from tarry import worker  # noqa: PLC0415

        found = scheduling.collect(
            cron=cron, interval=interval, rrule=rrule, schedules=schedules, missed=missed
        )
        worker.serve(
            self,
            name,
            parameters=parameters,
            limit=limit,
            schedules=found,
            paused=paused,
            description=description,
            tags=tuple(tags or ()),
            work_pool_name=work_pool_name,
            work_queue_name=work_queue_name,
            concurrency_limit=concurrency_limit,
        )

    def deploy(
        self,
        name: str | None = None,
        *,
        interval: Any = None,
        cron: str | Iterable[str] | None = None,
        rrule: str | Iterable[str] | None = None,
        schedules: Iterable[scheduling.Schedule] | None = None,
        paused: bool | None = None,
        missed: scheduling.MissedPolicy = "latest",
        parameters: dict[str, Any] | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        concurrency_limit: Any = None,
        work_pool_name: str | None = None,
        work_queue_name: str | None = None,
    ) -> Any:
        """Register this flow as a deployment, with the options of `serve`.

        See `tarry.deployments.deploy`; a server or a `serve` of the same store
        makes and executes its scheduled runs.

        Returns:
            The deployment as stored.
        """
        found = scheduling.collect(
            cron=cron, interval=interval, rrule=rrule, schedules=schedules, missed=missed
        )
        return deployments.deploy(
            self,
            name,
            parameters=parameters,
            description=description,
            tags=tuple(tags or ()),
            schedules=found,
            paused=paused,
            work_pool_name=work_pool_name,
            work_queue_name=work_queue_name,
            concurrency_limit=concurrency_limit,
        )

    def with_options(self, **changes: Any) -> Flow[P, R]:
        """A copy of the flow with some options changed (`name`, `retries`, ...).

        Raises:
            errors.NotSupported: A Prefect option tarry refuses (see `flow`).
        """
        task_runner = changes.pop("task_runner", self.task_runner)
        ours, prefect = _split(changes, _FLOW_NO_OPS | set(_FLOW_REFUSED))
        _prefect_options("with_options", prefect, _FLOW_NO_OPS, _FLOW_REFUSED)
        return Flow(self.fn, dataclasses.replace(self._options, **ours), task_runner)


def _pop_return_state(fn: Callable[..., Any], kwargs: dict[str, Any]) -> bool:
    # A function with a parameter of that name keeps it.
    if "return_state" not in kwargs or "return_state" in inspect.signature(fn).parameters:
        return False
    return bool(kwargs.pop("return_state"))


def _state_of(call: Callable[[], Any]) -> states.State:
    # Only errors become states: a suspension or an abort still unwinds the caller.
    try:
        return states.State.completed(call())
    except Exception as exc:  # noqa: BLE001 - the error is the state's
        return states.State.of_error(exc)


def _maybe_state_async(pending: Coroutine[Any, Any, Any], return_state: bool) -> Any:
    return _state_of_async(pending) if return_state else pending


async def _state_of_async(pending: Coroutine[Any, Any, Any]) -> states.State:
    """Async version of `_state_of`."""
    try:
        return states.State.completed(await pending)
    except Exception as exc:  # noqa: BLE001 - the error is the state's
        return states.State.of_error(exc)


def _split(
    changes: dict[str, Any], prefect_only: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changes to tarry's own options, and those to Prefect's that tarry does not keep."""
    ours = {k: v for k, v in changes.items() if k not in prefect_only}
    return ours, {k: v for k, v in changes.items() if k in prefect_only}


Hook = Callable[..., Any]
"""A Prefect state hook (`on_completion=[...]` and the like)."""
Delays = float | list[float] | Callable[[int], list[float]] | None
"""Seconds before each retry: one value, one per retry, or Prefect's `exponential_backoff`."""


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    cache_policy: cache_policies.CachePolicy | None = None,
    cache_key_fn: Callable[..., str | None] | None = None,
    cache_expiration: dt.timedelta | None = None,
    task_run_name: str | Callable[..., str] | None = None,
    retries: int | None = 0,
    retry_delay_seconds: Delays = 0.0,
    retry_jitter_factor: float | None = None,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_serializer: Any = None,
    result_storage_key: str | None = None,
    cache_result_in_memory: bool = True,
    timeout_seconds: float | None = None,
    log_prints: bool | None = None,
    refresh_cache: bool | None = None,
    on_completion: list[Hook] | None = None,
    on_failure: list[Hook] | None = None,
    on_rollback: list[Hook] | None = None,
    on_commit: list[Hook] | None = None,
    retry_condition_fn: Callable[..., bool] | None = None,
    viz_return_value: Any = None,
    asset_deps: list[Any] | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int | None = 0,
    retry_delay_seconds: Delays = 0.0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] | None = None,
    log_prints: bool | None = None,
    cache_policy: cache_policies.CachePolicy | None = None,
    cache_key_fn: Callable[..., str | None] | None = None,
    cache_expiration: dt.timedelta | None = None,
    refresh_cache: bool | None = None,
    **prefect: Any,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task: inside a flow, each call is a journaled step.

    Works bare (`@task`) and called (`@task(retries=3)`), on `def` and `async def`.
    Prefect's other task options are accepted; those the journal makes needless
    (result persistence, ...) do nothing, and hooks are refused: see
    docs/from-prefect.md.

    Args:
        fn: The function, when used bare.
        name: Step name (default: the function's name).
        retries: How many times to retry after an error.
        retry_delay_seconds: Seconds before each retry, one value per retry, or
            Prefect's `exponential_backoff(...)`.
        timeout_seconds: Time limit of each attempt; exceeding it raises `TaskTimeout`.
        tags: Tags, for filtering.
        log_prints: Send `print` to the run log (default: as the flow says).
        cache_policy: Cache its results across runs, keyed by this policy of
            `tarry.cache_policies` (`INPUTS`, `INPUTS + TASK_SOURCE`, ...); by
            default nothing is cached across runs (docs/flows-and-tasks.md, Caching).
        cache_key_fn: `(context, parameters) -> str | None`: the cache key of a
            call, or `None` not to cache it; takes precedence over `cache_policy`.
        cache_expiration: How long a cached result is used (default: for ever).
        refresh_cache: Call the task even on a cache hit, and store the new result.
        **prefect: Prefect's other options (`persist_result=`, `version=`, ...).

    Returns:
        The task, or a decorator that makes one.

    Raises:
        errors.NotSupported: A hook (`on_completion=`, `on_failure=`, ...) or
            `retry_condition_fn=` is given.
        TypeError: An option is neither tarry's nor Prefect's, or a caching
            option has the wrong type.
    """
    _prefect_options("task", prefect, _TASK_NO_OPS, _TASK_REFUSED)
    tries = retries or 0

    def make(f: Callable[P, R]) -> Task[P, R]:
        options = spec.Options(
            name or f.__name__,
            tries,
            _delays(tries, retry_delay_seconds),
            timeout_seconds,
            tuple(tags or ()),
            log_prints,
            cache_policy=cache_policy,
            cache_key_fn=cache_key_fn,
            cache_expiration=cache_expiration,
            refresh_cache=False if refresh_cache is None else refresh_cache,
        )
        return Task(f, options)

    return make(fn) if fn is not None else make


@overload
def flow(fn: Callable[P, R], /) -> Flow[P, R]: ...


@overload
def flow(
    *,
    name: str | None = None,
    version: str | None = None,
    flow_run_name: str | Callable[[], str] | None = None,
    retries: int | None = 0,
    retry_delay_seconds: Delays = 0.0,
    task_runner: task_runners.TaskRunner | None = None,
    description: str | None = None,
    timeout_seconds: float | None = None,
    validate_parameters: bool = True,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_serializer: Any = None,
    cache_result_in_memory: bool = True,
    log_prints: bool | None = False,
    on_completion: list[Hook] | None = None,
    on_failure: list[Hook] | None = None,
    on_cancellation: list[Hook] | None = None,
    on_crashed: list[Hook] | None = None,
    on_running: list[Hook] | None = None,
    tags: Iterable[str] = (),
    notify: targets.Notify = None,
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    version: str | None = None,
    flow_run_name: str | Callable[[], str] | None = None,
    retries: int | None = 0,
    retry_delay_seconds: Delays = 0.0,
    task_runner: task_runners.TaskRunner | None = None,
    description: str | None = None,
    timeout_seconds: float | None = None,
    log_prints: bool | None = False,
    tags: Iterable[str] = (),
    notify: targets.Notify = None,
    **prefect: Any,
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Make a function a flow: each call is a durable run.

    Works bare (`@flow`) and called (`@flow(log_prints=True)`), on `def` and
    `async def`. Prefect's other flow options are accepted; those the journal makes
    needless (`persist_result=`, `result_storage=`, ...) do nothing, and hooks are
    refused: see docs/from-prefect.md.

    Args:
        fn: The function, when used bare.
        name: Flow name (default: the function's name with `_` turned into `-`).
        version: The code's version (`flow.version`).
        flow_run_name: Names its runs: a template filled from the parameters
            (`"report-{day}"`) or a function returning the name; random
            (`brave-otter`) by default.
        retries: How many times to re-run the flow after an error; finished steps
            are not run again, failed ones are.
        retry_delay_seconds: Seconds before each retry, one value per retry, or
            Prefect's `exponential_backoff(...)`.
        task_runner: Where `Task.submit` runs tasks (default: a thread pool).
        description: Shown with the flow (default: its docstring).
        timeout_seconds: Time limit of each attempt; exceeding it fails the run
            with `FlowTimeout`.
        log_prints: Send `print` in the flow and its tasks to the run log.
        tags: Tags given to its runs.
        notify: Whom to tell when the flow waits for an answer, for every wait
            without a `notify=` of its own: `tarry.notify.Email(...)`,
            `tarry.notify.Webhook(...)`, a mail address, a webhook URL, or a list.
        **prefect: Prefect's other options (`persist_result=`, `validate_parameters=`, ...).

    Returns:
        The flow, or a decorator that makes one.

    Raises:
        errors.NotSupported: A hook (`on_completion=`, `on_failure=`, ...) is given.
        TypeError: An option is neither tarry's nor Prefect's.
    """
    _prefect_options("flow", prefect, _FLOW_NO_OPS, _FLOW_REFUSED)
    tries = retries or 0

    def make(f: Callable[P, R]) -> Flow[P, R]:
        options = spec.Options(
            name or f.__name__.replace("_", "-"),
            tries,
            _delays(tries, retry_delay_seconds),
            timeout_seconds,
            tuple(tags),
            log_prints,
            targets.targets_of(notify),
            description=description,
            version=version,
            flow_run_name=flow_run_name,
        )
        return Flow(f, options, task_runner)

    return make(fn) if fn is not None else make
