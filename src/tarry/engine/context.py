"""Context variables for the run and step being executed in this thread or task."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from tarry import errors, serialization

if TYPE_CHECKING:
    from tarry import futures, task_runners
    from tarry.engine import journal, spec
    from tarry.host import Host
    from tarry.storage import records

__all__ = [
    "FlowRun",
    "RunContext",
    "Scope",
    "current_run",
    "current_scope",
    "run_scope",
    "step_scope",
]


class Scope:
    """Hands out journal keys in call order: `1, 2, ...` in a flow, `3.1, 3.2` in step 3.

    A scope also says how a wait made in it waits: awaited (`is_async`, an `async def`
    flow or task) or blocking, and, inside a task, why a wait cannot be made there
    (`waits_refused`), or `None` when it can.
    """

    def __init__(
        self,
        prefix: str = "",
        step_key: str | None = None,
        label: str = "",
        *,
        is_async: bool = False,
        waits_refused: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.step_key = step_key
        self.label = label
        self.is_async = is_async
        self.waits_refused = waits_refused
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next_key(self) -> str:
        """The key of the next call made in this scope."""
        with self._lock:
            return f"{self.prefix}{next(self._counter)}"


@dataclasses.dataclass(eq=False)
class RunContext:
    """Everything a flow run's steps need, shared by its threads."""

    run: records.RunRecord
    """The run as last stored."""
    flow: spec.FlowSpec[Any, Any]
    """The flow being run."""
    host: Host
    """The process's host (store, lease)."""
    journal: journal.Journal
    """Replay decisions for this run."""
    task_runner: task_runners.TaskRunner
    """Where submitted tasks run."""
    futures: list[futures.TarryFuture[Any]] = dataclasses.field(default_factory=list)
    """Futures submitted in this run, awaited when it ends."""
    aborted: str | None = None
    """Why this run was taken away from its thread (timeout), if it was."""
    parent: RunContext | None = None
    """The run that called this one as a child flow."""

    def check_aborted(self) -> None:
        """Stop a thread that still runs steps of a run taken away from it.

        Raises:
            errors.RunAborted: The run timed out or was cancelled.
        """
        reason = self.aborted or self.host.hub.aborted(self.run.id)
        if reason is not None:
            raise errors.RunAborted(self.run.id, reason)

    def chain_ids(self) -> tuple[str, ...]:
        """This run's id, then its parent's, up to the top-level run."""
        ids: list[str] = []
        ctx: RunContext | None = self
        while ctx is not None:
            ids.append(ctx.run.id)
            ctx = ctx.parent
        return tuple(ids)

    @property
    def label(self) -> str:
        """How logs name this run."""
        return f"Flow run {self.run.name!r}"

    @property
    def flow_run(self) -> FlowRun:
        """The run as Prefect's `get_run_context().flow_run` shows it."""
        run = self.run
        return FlowRun(
            id=run.id,
            name=run.name,
            flow_name=run.flow_name,
            parameters=serialization.loads(run.parameters),
            parent_id=run.parent_id,
            run_count=self.journal.attempt,
            tags=run.tags,
        )


@dataclasses.dataclass(frozen=True)
class FlowRun:
    """A run's identity and parameters, read from inside it (`RunContext.flow_run`)."""

    id: str
    """The run's id."""
    name: str
    """Its name, such as `brave-otter`."""
    flow_name: str
    """The name of the flow it runs."""
    parameters: dict[str, Any]
    """The parameters it was called with."""
    parent_id: str | None
    """The run that started it as a child flow, if any."""
    run_count: int
    """Which attempt of the flow this is, from 1."""
    tags: tuple[str, ...]
    """The flow's tags."""


_run: ContextVar[RunContext | None] = ContextVar("tarry_run", default=None)
_scope: ContextVar[Scope | None] = ContextVar("tarry_scope", default=None)
_log_prints: ContextVar[bool] = ContextVar("tarry_log_prints", default=False)


def current_run() -> RunContext | None:
    """The run being executed here, or `None` outside flows."""
    return _run.get()


def current_scope() -> Scope:
    """The key scope of the code running here (a fresh top-level one outside runs)."""
    scope = _scope.get()
    if scope is None:
        scope = Scope()
        _scope.set(scope)
    return scope


def log_prints_enabled() -> bool:
    """Whether `print` here goes to the run's log."""
    return _log_prints.get()


@contextmanager
def run_scope(ctx: RunContext, log_prints: bool) -> Iterator[RunContext]:
    """Make `ctx` the current run, with a fresh top-level key scope."""
    scope = Scope(label=ctx.label, is_async=ctx.flow.is_async)
    tokens = (_run.set(ctx), _scope.set(scope), _log_prints.set(log_prints))
    try:
        yield ctx
    finally:
        _log_prints.reset(tokens[2])
        _scope.reset(tokens[1])
        _run.reset(tokens[0])


@contextmanager
def step_scope(
    key: str,
    label: str,
    log_prints: bool | None,
    *,
    is_async: bool = False,
    waits_refused: str | None = None,
) -> Iterator[Scope]:
    """Enter step `key`: calls made inside it get keys `key.1`, `key.2`, ...

    A wait inside is refused for the enclosing step's reason, if it has one, else
    for `waits_refused`.
    """
    outer = _scope.get()
    refused = outer.waits_refused if outer is not None and outer.waits_refused else waits_refused
    scope = Scope(
        prefix=f"{key}.", step_key=key, label=label, is_async=is_async, waits_refused=refused
    )
    token = _scope.set(scope)
    prints = _log_prints.set(_log_prints.get() if log_prints is None else log_prints)
    try:
        yield scope
    finally:
        _log_prints.reset(prints)
        _scope.reset(token)
