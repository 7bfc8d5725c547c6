"""`@flow` and `@task`: plain functions that tarry runs durably."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from tarry import engine, errors, futures, loader, steps, task_runners
from tarry.outbound import targets

__all__ = ["Flow", "Task", "flow", "task"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class _Options:
    name: str
    retries: int = 0
    retry_delay_seconds: float | list[float] = 0.0
    timeout_seconds: float | None = None
    tags: tuple[str, ...] = ()
    log_prints: bool | None = None
    notify: tuple[targets.Target, ...] = ()


def _check_options(name: str, retries: int, timeout_seconds: float | None) -> None:
    if retries < 0:
        raise ValueError(f"{name}: retries must be 0 or more, not {retries}")
    if timeout_seconds is not None and timeout_seconds <= 0:
        raise ValueError(f"{name}: timeout_seconds must be greater than 0")


class Task(Generic[P, R]):
    """A function whose every call inside a flow is a journaled step.

    Made with `@task`. Calling it runs it (or, when its step is already in the
    journal, returns the recorded result or raises the recorded error).
    """

    def __init__(self, fn: Callable[P, R], options: _Options) -> None:
        _check_options(options.name, options.retries, options.timeout_seconds)
        self.fn = fn
        self._options = options
        self.is_async = inspect.iscoroutinefunction(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Task({self.name!r})"

    name = property(lambda self: self._options.name, doc="The step name in the journal.")
    retries = property(lambda self: self._options.retries, doc="Retries after a failure.")
    retry_delay_seconds = property(
        lambda self: self._options.retry_delay_seconds,
        doc="Delay before each retry, or a list of delays (the last one repeats).",
    )
    timeout_seconds = property(
        lambda self: self._options.timeout_seconds, doc="Time limit of one attempt."
    )
    tags = property(lambda self: self._options.tags, doc="Tags, for filtering.")
    log_prints = property(
        lambda self: self._options.log_prints,
        doc="Send `print` to the run log (`None`: as the flow says).",
    )

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


class Flow(Generic[P, R]):
    """A function whose calls are durable runs.

    Made with `@flow`. Calling it outside a run starts a run in this process and
    returns its result (an `async def` flow returns a coroutine); calling it inside
    a flow starts a child run whose result is journaled like a step.
    """

    def __init__(
        self,
        fn: Callable[P, R],
        options: _Options,
        task_runner: task_runners.TaskRunner | None = None,
    ) -> None:
        _check_options(options.name, options.retries, options.timeout_seconds)
        self.fn = fn
        self._options = options
        self.task_runner = task_runner or task_runners.ThreadPoolTaskRunner()
        self.is_async = inspect.iscoroutinefunction(fn)
        self.signature = _signature(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Flow({self.name!r})"

    name = property(lambda self: self._options.name, doc="The flow's name.")
    retries = property(lambda self: self._options.retries, doc="Retries of the whole flow.")
    retry_delay_seconds = property(
        lambda self: self._options.retry_delay_seconds, doc="Delay before each flow retry."
    )
    timeout_seconds = property(
        lambda self: self._options.timeout_seconds, doc="Time limit of one flow attempt."
    )
    tags = property(lambda self: self._options.tags, doc="Tags given to its runs.")
    log_prints = property(
        lambda self: bool(self._options.log_prints), doc="Send `print` to the run log."
    )
    notify = property(
        lambda self: self._options.notify, doc="Whom to tell when a wait of the flow opens."
    )

    @functools.cached_property
    def entrypoint(self) -> str:
        """`module:function` or `path/file.py:function`: how other processes load this flow."""
        return loader.object_ref(self.fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Start a run of the flow (a child run inside a flow) and return its result.

        Raises:
            errors.ParameterError: The arguments do not fit the signature.
        """
        if self.is_async:
            return engine.call_flow_async(self, args, kwargs)  # type: ignore[return-value]
        return engine.call_flow(self, args, kwargs)  # type: ignore[no-any-return]

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's parameters by name.

        Raises:
            errors.ParameterError: They do not fit the flow's signature.
        """
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise errors.ParameterError(
                f"flow {self.name!r} cannot take these parameters: {exc}; "
                f"its signature is {self.name}{self.signature}",
                flow_name=self.name,
            ) from None
        return dict(bound.arguments)

    def call_arguments(self, parameters: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional and keyword arguments that call the function with `parameters`."""
        bound = inspect.BoundArguments(self.signature, parameters)
        return bound.args, bound.kwargs

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check and coerce parameters given as text or JSON (CLI, API) to the annotations.

        Raises:
            errors.ParameterError: A name is unknown, a required one missing, or a
                value cannot be turned into the annotated type.
        """
        self.bind((), parameters)
        return _coerce(self, parameters)

    def serve(
        self, name: str | None = None, *, parameters: dict[str, Any] | None = None, limit: int = 8
    ) -> None:
        """Deploy this flow and execute its runs in this process until interrupted.

        See `tarry.deployments.serve`.
        """
        from tarry import deployments  # noqa: PLC0415 - deployments build on flows

        deployments.serve(self, name, parameters=parameters, limit=limit)

    def deploy(self, name: str | None = None, *, parameters: dict[str, Any] | None = None) -> Any:
        """Register this flow as a deployment (see `tarry.deployments.deploy`).

        Returns:
            The deployment as stored.
        """
        from tarry import deployments  # noqa: PLC0415 - deployments build on flows

        return deployments.deploy(self, name, parameters=parameters)

    def with_options(self, **changes: Any) -> Flow[P, R]:
        """A copy of the flow with some options changed (`name`, `retries`, ...)."""
        task_runner = changes.pop("task_runner", self.task_runner)
        return Flow(self.fn, dataclasses.replace(self._options, **changes), task_runner)


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    # Resolve string annotations (`from __future__ import annotations`) so error
    # messages show `n: int`, not `n: 'int'`.
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError):
        return inspect.signature(fn)


def _coerce(flow: Flow[Any, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    import pydantic  # noqa: PLC0415 - only runs started from text pay for it

    hints = _type_hints(flow.fn)
    out = dict(parameters)
    for name, value in parameters.items():
        if name not in hints:
            continue
        try:
            out[name] = pydantic.TypeAdapter(hints[name]).validate_python(value)
        except pydantic.ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise errors.ParameterError(
                f"flow {flow.name!r}: parameter {name!r} = {value!r} is invalid: {reason}",
                flow_name=flow.name,
            ) from None
    return out


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing  # noqa: PLC0415

    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        return {}
    hints.pop("return", None)
    return hints


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
        options = _Options(
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
        options = _Options(
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
