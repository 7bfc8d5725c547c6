"""What the engine reads of a flow or a task: `FlowSpec`, `TaskSpec`; `load_flow`.

`tarry.definitions.Flow` and `Task` subclass these and add the verbs (call,
submit, map, serve, deploy). The engine, the worker and deployments need only
this data half, so they never import the verbs above them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Generic, ParamSpec, TypeVar, overload

from tarry import cache_policies, errors, loader, names, task_runners
from tarry.outbound import targets

__all__ = ["FlowSpec", "Options", "TaskSpec", "load_flow", "naming_parameters"]

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound="FlowSpec[..., Any]")


@dataclasses.dataclass(frozen=True)
class Options:
    """The options given to `@flow` or `@task` (`with_options` replaces some)."""

    name: str
    retries: int = 0
    retry_delay_seconds: float | list[float] = 0.0
    timeout_seconds: float | None = None
    tags: tuple[str, ...] = ()
    log_prints: bool | None = None
    notify: tuple[targets.Target, ...] = ()
    description: str | None = None
    """Shown with the flow (default: the function's docstring)."""
    version: str | None = None
    """The code's version, as the user names it (a commit hash, ...)."""
    flow_run_name: str | Callable[[], str] | None = None
    """A `str.format` template filled from the parameters, or a function; random when `None`."""
    cache_policy: cache_policies.CachePolicy | None = None
    """What a task's cache key is made of; `None`: not cached across runs."""
    cache_key_fn: Callable[..., str | None] | None = None
    """A task's own cache key function; it takes precedence over `cache_policy`."""
    cache_expiration: dt.timedelta | None = None
    """How long a cached task result is used; `None`: for ever."""
    refresh_cache: bool = False
    """Call the task even on a cache hit, and store the new result."""


def _check_options(name: str, retries: int, timeout_seconds: float | None) -> None:
    if retries < 0:
        raise ValueError(f"{name}: retries must be 0 or more, not {retries}")
    if timeout_seconds is not None and timeout_seconds <= 0:
        raise ValueError(f"{name}: timeout_seconds must be greater than 0")


def _check_cache(options: Options) -> None:
    """Refuse caching options of the wrong type, naming the task and the option.

    Raises:
        TypeError: An option has the wrong type.
        ValueError: `cache_expiration` is not positive.
    """
    what = f"task {options.name!r}"
    policy, key_fn, expiration = (
        options.cache_policy,
        options.cache_key_fn,
        options.cache_expiration,
    )
    if policy is not None and not isinstance(policy, cache_policies.CachePolicy):
        raise TypeError(
            f"{what}: cache_policy must be a policy of tarry.cache_policies (INPUTS, "
            f"TASK_SOURCE, INPUTS + TASK_SOURCE, NO_CACHE, ...), not {type(policy).__name__}"
        )
    if key_fn is not None and not callable(key_fn):
        raise TypeError(
            f"{what}: cache_key_fn must be a function (context, parameters) -> str | None, "
            f"not {type(key_fn).__name__}"
        )
    if expiration is not None and not isinstance(expiration, dt.timedelta):
        raise TypeError(
            f"{what}: cache_expiration must be a datetime.timedelta, not "
            f"{type(expiration).__name__}; write timedelta(seconds={expiration!r})"
        )
    if expiration is not None and expiration <= dt.timedelta(0):
        raise ValueError(f"{what}: cache_expiration must be longer than 0, not {expiration}")
    if not isinstance(options.refresh_cache, bool):
        raise TypeError(
            f"{what}: refresh_cache must be True or False, not "
            f"{type(options.refresh_cache).__name__}"
        )


class TaskSpec(Generic[P, R]):
    """A task as the engine reads it: its function and options."""

    def __init__(self, fn: Callable[P, R], options: Options) -> None:
        _check_options(options.name, options.retries, options.timeout_seconds)
        _check_cache(options)
        self.fn = fn
        self._options = options
        self.is_async = inspect.iscoroutinefunction(fn)
        # The subclass with the verbs is the callable users see: it shows the function's name.
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

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
    cache_expiration = property(
        lambda self: self._options.cache_expiration,
        doc="How long a cached result is used (`None`: for ever).",
    )
    refresh_cache = property(
        lambda self: self._options.refresh_cache,
        doc="Call the task even on a cache hit, and store the new result.",
    )

    @property
    def cache_policy(self) -> cache_policies.CachePolicy | None:
        """The policy that keys the task's calls: its `cache_key_fn`'s, else `cache_policy`."""
        key_fn = self._options.cache_key_fn
        if key_fn is not None:
            return cache_policies.CacheKeyFnPolicy(key_fn)
        policy = self._options.cache_policy
        return None if policy is cache_policies.NO_CACHE else policy


class FlowSpec(Generic[P, R]):
    """A flow as the engine reads it: its function, signature, options and task runner."""

    def __init__(
        self,
        fn: Callable[P, R],
        options: Options,
        task_runner: task_runners.TaskRunner | None = None,
    ) -> None:
        _check_options(options.name, options.retries, options.timeout_seconds)
        self.fn = fn
        self._options = options
        self.task_runner = task_runner or task_runners.ThreadPoolTaskRunner()
        self.is_async = inspect.iscoroutinefunction(fn)
        self.signature = _signature(fn)
        # The subclass with the verbs is the callable users see: it shows the function's name.
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

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
    version = property(lambda self: self._options.version, doc="The code's version, if given.")

    @property
    def description(self) -> str | None:
        """The flow's description: the `description=` given, else its docstring."""
        return self._options.description or inspect.getdoc(self.fn)

    def run_name(self, parameters: dict[str, Any]) -> str:
        """The name of a new run with these parameters (Prefect's `flow_run_name`).

        Raises:
            errors.ParameterError: The template names a parameter the run does not have.
        """
        template = self._options.flow_run_name
        if template is None:
            return names.run_name()
        given = {**self._defaults(), **parameters}
        if callable(template):
            # As in Prefect, the function may read `tarry.runtime.flow_run.parameters`.
            with _naming_scope(given):
                return str(template())
        try:
            return template.format_map(given)
        except (KeyError, IndexError) as exc:
            raise errors.ParameterError(
                f"flow {self.name!r}: flow_run_name {template!r} names no parameter {exc}",
                flow_name=self.name,
            ) from None

    def _defaults(self) -> dict[str, Any]:
        return {
            p.name: p.default
            for p in self.signature.parameters.values()
            if p.default is not inspect.Parameter.empty
        }

    @functools.cached_property
    def entrypoint(self) -> str:
        """`module:function` or `path/file.py:function`: how other processes load this flow."""
        return loader.object_ref(self.fn)

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
                field_errors=_misfits(self.signature, len(args), kwargs),
            ) from None
        return dict(bound.arguments)

    def call_arguments(self, parameters: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional and keyword arguments that call the function with `parameters`."""
        if self._named_only is not None and parameters.keys() <= self._named_only:
            # Every parameter can be passed by name: `BoundArguments` would cost more
            # than the rest of a replayed run's bookkeeping.
            return (), dict(parameters)
        bound = inspect.BoundArguments(self.signature, parameters)
        return bound.args, bound.kwargs

    @functools.cached_property
    def _named_only(self) -> frozenset[str] | None:
        """The parameters' names, if each can be passed by name (no `/`, `*args`, `**kw`)."""
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        found = self.signature.parameters.values()
        if all(p.kind in kinds for p in found):
            return frozenset(p.name for p in found)
        return None

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check and coerce parameters given as text or JSON (CLI, API) to the annotations.

        Raises:
            errors.ParameterError: A name is unknown, a required one missing, or a
                value cannot be turned into the annotated type.
        """
        self.bind((), parameters)
        return _coerce(self, parameters)


_naming: ContextVar[dict[str, Any] | None] = ContextVar("tarry_naming", default=None)


@contextlib.contextmanager
def _naming_scope(parameters: dict[str, Any]) -> Iterator[None]:
    token = _naming.set(parameters)
    try:
        yield
    finally:
        _naming.reset(token)


def naming_parameters() -> dict[str, Any] | None:
    """The parameters of the run whose `flow_run_name` function runs here, else `None`."""
    return _naming.get()


@overload
def load_flow(
    entrypoint: str, *, timeout: float | None = None, limit_name: str = ""
) -> FlowSpec[..., Any]: ...


@overload
def load_flow(
    entrypoint: str, kind: type[F], *, timeout: float | None = None, limit_name: str = ""
) -> F: ...


def load_flow(
    entrypoint: str,
    kind: type[Any] = FlowSpec,
    *,
    timeout: float | None = None,
    limit_name: str = "",
) -> Any:
    """The flow an entrypoint names, imported (a run's, a deployment's, or one typed in).

    Args:
        entrypoint: `module:flow` or `path/to/file.py:flow`.
        kind: The class it must be: `tarry.Flow` where the caller calls its verbs.
        timeout: The most seconds its file's import may take (see `loader.load_object`);
            `None`: no limit.
        limit_name: The setting `timeout` comes from, named when it is exceeded.

    Raises:
        errors.FlowLoadError: This process cannot import it (in time), or it is not a
            `@flow`.
    """
    if timeout is None:
        found = loader.load_object(entrypoint)
    else:
        found = loader.load_object(entrypoint, timeout=timeout, limit_name=limit_name)
    if not isinstance(found, kind):
        raise errors.FlowLoadError(f"{entrypoint} is a {type(found).__name__}, not a @flow")
    return found


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    # Resolve string annotations (`from __future__ import annotations`) so error
    # messages show `n: int`, not `n: 'int'`.
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError):
        return inspect.signature(fn)


def _misfits(
    signature: inspect.Signature, positional: int, kwargs: dict[str, Any]
) -> list[errors.FieldError]:
    """Each parameter a call misses, and each name it gives that the signature lacks."""
    params = list(signature.parameters.values())
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    named = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    found = [
        errors.FieldError((name,), "not a parameter of this flow", "extra_forbidden")
        for name in kwargs
        if name not in named and not takes_any
    ]
    missing = [
        p.name
        for index, p in enumerate(params)
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in kwargs
        and index >= positional
    ]
    return found + [errors.FieldError((name,), "Field required", "missing") for name in missing]


def _coerce(flow: FlowSpec[Any, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    import pydantic  # noqa: PLC0415 - only runs started from text pay for it

    hints = _type_hints(flow.fn)
    out = dict(parameters)
    problems: list[tuple[str, Any, pydantic.ValidationError]] = []
    for name, value in parameters.items():
        if name not in hints:
            continue
        try:
            out[name] = pydantic.TypeAdapter(hints[name]).validate_python(value)
        except pydantic.ValidationError as exc:
            problems.append((name, value, exc))
    if problems:
        # The message names the first; `field_errors` every one, for a form to show them all.
        first, value, refusal = problems[0]
        raise errors.ParameterError(
            f"flow {flow.name!r}: parameter {first!r} = {value!r} is invalid: "
            f"{refusal.errors()[0]['msg']}",
            flow_name=flow.name,
            field_errors=[
                errors.FieldError((name, *e["loc"]), e["msg"], e["type"])
                for name, _value, invalid in problems
                for e in invalid.errors()
            ],
        )
    return out


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing  # noqa: PLC0415

    try:
        hints = typing.get_type_hints(fn, include_extras=True)  # Annotated constraints count
    except (NameError, TypeError):
        return {}
    hints.pop("return", None)
    return hints
