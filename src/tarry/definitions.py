"""`@flow` and `@task`: plain functions that tarry runs durably."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar, overload

from tarry import deployments, futures, task_runners
from tarry.engine import caller, spec, steps
from tarry.outbound import targets

__all__ = ["Flow", "Task", "flow", "task"]

P = ParamSpec("P")
R = TypeVar("R")


class Task(spec.TaskSpec[P, R]):
    """A function whose every call inside a flow is a journaled step.

    Made with `@task`. Calling it runs it (or, when its step is already in the
    journal, returns the recorded result or raises the recorded error).
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the task (a journaled step inside a flow); awaitable for `async def` tasks."""
        if self.is_async:
            return steps.call_task_async(self, args, kwargs)  # type: ignore[return-value]
        return steps.call_task(self, args, kwargs)  # type: ignore[no-any-return]

    def submit(self, *args: Any, **kwargs: Any) -> futures.TarryFuture[Any]:
        """Start the task on the flow's task runner and return its future at once.

        Arguments may be futures of other tasks: the task waits for their results.
        """
        return steps.submit_task(self, args, kwargs)

    def map(self, *iterables: Iterable[Any], **kwargs: Any) -> list[futures.TarryFuture[Any]]:
        """Submit one call per item of the iterables (zipped); keyword arguments are shared."""
        return [self.submit(*items, **kwargs) for items in zip(*iterables, strict=True)]

    def with_options(self, **changes: Any) -> Task[P, R]:
        """A copy of the task with some options changed (`name`, `retries`, ...)."""
        return Task(self.fn, dataclasses.replace(self._options, **changes))


class Flow(spec.FlowSpec[P, R]):
    """A function whose calls are durable runs.

    Made with `@flow`. Calling it outside a run starts a run in this process and
    returns its result (an `async def` flow returns a coroutine); calling it inside
    a flow starts a child run whose result is journaled like a step.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Start a run of the flow (a child run inside a flow) and return its result.

        Raises:
            errors.ParameterError: The arguments do not fit the signature.
        """
        if self.is_async:
            return caller.call_flow_async(self, args, kwargs)  # type: ignore[return-value]
        return caller.call_flow(self, args, kwargs)  # type: ignore[no-any-return]

    def serve(
        self, name: str | None = None, *, parameters: dict[str, Any] | None = None, limit: int = 8
    ) -> None:
        """Deploy this flow and execute its runs in this process until interrupted.

        See `tarry.worker.serve`.
        """
        # Import cost only: `import tarry` need not load the worker, which few programs use.
        from tarry import worker  # noqa: PLC0415

        worker.serve(self, name, parameters=parameters, limit=limit)

    def deploy(self, name: str | None = None, *, parameters: dict[str, Any] | None = None) -> Any:
        """Register this flow as a deployment (see `tarry.deployments.deploy`).

        Returns:
            The deployment as stored.
        """
        return deployments.deploy(self, name, parameters=parameters)

    def with_options(self, **changes: Any) -> Flow[P, R]:
        """A copy of the flow with some options changed (`name`, `retries`, ...)."""
        task_runner = changes.pop("task_runner", self.task_runner)
        return Flow(self.fn, dataclasses.replace(self._options, **changes), task_runner)


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | list[float] = 0.0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] = (),
    log_prints: bool | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | list[float] = 0.0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] = (),
    log_prints: bool | None = None,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task: inside a flow, each call is a journaled step.

    Works bare (`@task`) and called (`@task(retries=3)`), on `def` and `async def`.

    Args:
        fn: The function, when used bare.
        name: Step name (default: the function's name).
        retries: How many times to retry after an error.
        retry_delay_seconds: Seconds before each retry, or one value per retry.
        timeout_seconds: Time limit of each attempt; exceeding it raises `TaskTimeout`.
        tags: Tags, for filtering.
        log_prints: Send `print` to the run log (default: as the flow says).

    Returns:
        The task, or a decorator that makes one.
    """

    def make(f: Callable[P, R]) -> Task[P, R]:
        options = spec.Options(
            name or f.__name__,
            retries,
            retry_delay_seconds,
            timeout_seconds,
            tuple(tags),
            log_prints,
        )
        return Task(f, options)

    return make(fn) if fn is not None else make


@overload
def flow(fn: Callable[P, R], /) -> Flow[P, R]: ...


@overload
def flow(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | list[float] = 0.0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] = (),
    log_prints: bool = False,
    task_runner: task_runners.TaskRunner | None = None,
    notify: targets.Notify = None,
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | list[float] = 0.0,
    timeout_seconds: float | None = None,
    tags: Iterable[str] = (),
    log_prints: bool = False,
    task_runner: task_runners.TaskRunner | None = None,
    notify: targets.Notify = None,
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Make a function a flow: each call is a durable run.

    Works bare (`@flow`) and called (`@flow(log_prints=True)`), on `def` and
    `async def`.

    Args:
        fn: The function, when used bare.
        name: Flow name (default: the function's name with `_` turned into `-`).
        retries: How many times to re-run the flow after an error; finished steps
            are not run again, failed ones are.
        retry_delay_seconds: Seconds before each retry, or one value per retry.
        timeout_seconds: Time limit of each attempt; exceeding it fails the run
            with `FlowTimeout`.
        tags: Tags given to its runs.
        log_prints: Send `print` in the flow and its tasks to the run log.
        task_runner: Where `Task.submit` runs tasks (default: a thread pool).
        notify: Whom to tell when the flow waits for an answer, for every wait
            without a `notify=` of its own: `tarry.notify.Email(...)`,
            `tarry.notify.Webhook(...)`, a mail address, a webhook URL, or a list.

    Returns:
        The flow, or a decorator that makes one.
    """

    def make(f: Callable[P, R]) -> Flow[P, R]:
        options = spec.Options(
            name or f.__name__.replace("_", "-"),
            retries,
            retry_delay_seconds,
            timeout_seconds,
            tuple(tags),
            log_prints,
            targets.targets_of(notify),
        )
        return Flow(f, options, task_runner)

    return make(fn) if fn is not None else make
