"""The one entry point every interface (CLI, and later API, UI and client) uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

from tarry import answers, errors, host
from tarry.states import RunState
from tarry.storage import base

__all__ = [
    "RunDetail",
    "get_run_detail",
    "list_pending_inputs",
    "list_runs",
    "resolve_run_id",
    "submit_input",
]


@dataclasses.dataclass(frozen=True)
class RunDetail:
    """A run with its journal, logs, state changes and child runs."""

    run: base.RunRecord
    """The run."""
    steps: list[base.StepRecord]
    """Its journal, in key order."""
    logs: list[base.LogRecord]
    """Its log lines, oldest first."""
    transitions: list[base.TransitionRecord]
    """Its state changes, oldest first."""
    children: list[base.RunRecord]
    """Runs it started as child flows."""


def list_runs(
    *,
    states: Collection[RunState] = (),
    flow_name: str | None = None,
    limit: int = 50,
    offset: int = 0,
    hst: host.Host | None = None,
) -> list[base.RunRecord]:
    """Runs, newest first, filtered by state and flow name."""
    store = (hst or host.get_host()).store
    where = base.RunFilter(states=states, flow_name=flow_name, limit=limit, offset=offset)
    return store.list_runs(where)


def resolve_run_id(id_or_prefix: str, *, hst: host.Host | None = None) -> str:
    """The full id of the one run whose id is or starts with `id_or_prefix`.

    Raises:
        errors.RunNotFound: No run matches, or several do.
    """
    store = (hst or host.get_host()).store
    if store.get_run(id_or_prefix) is not None:
        return id_or_prefix
    matches = store.run_ids_starting_with(id_or_prefix, limit=2) if id_or_prefix else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise errors.RunNotFound(id_or_prefix, ambiguous=True)
    raise errors.RunNotFound(id_or_prefix)


def get_run_detail(run_id: str, *, hst: host.Host | None = None) -> RunDetail:
    """Everything stored about one run, found by its id or a unique prefix of it.

    Raises:
        errors.RunNotFound: No run has this id, or the prefix is ambiguous.
    """
    store = (hst or host.get_host()).store
    run_id = resolve_run_id(run_id, hst=hst)
    run = store.get_run(run_id)
    if run is None:
        raise errors.RunNotFound(run_id)
    return RunDetail(
        run=run,
        steps=store.get_steps(run_id),
        logs=store.get_logs(run_id),
        transitions=store.get_transitions(run_id),
        children=store.list_runs(base.RunFilter(parent_id=run_id, limit=1000)),
    )


def list_pending_inputs(
    run_id: str | None = None, *, limit: int = 50, offset: int = 0, hst: host.Host | None = None
) -> list[base.WaitRecord]:
    """Open input waits across runs (the inbox), oldest first."""
    hst = hst or host.get_host()
    resolved = resolve_run_id(run_id, hst=hst) if run_id else None
    return hst.store.open_inputs(resolved, limit=limit, offset=offset)


def submit_input(
    run_id: str,
    data: Any = None,
    *,
    key: str | None = None,
    wait_id: str | None = None,
    responder: str | None = None,
    channel: str = "api",
    hst: host.Host | None = None,
) -> answers.Submitted:
    """Answer a run's wait (see `tarry.answers.submit_input`); `run_id` may be a prefix.

    Raises:
        errors.InputInvalid: The answer does not fit; the run keeps waiting.
        errors.AlreadyAnswered: Someone answered first.
        errors.NotWaiting: The run has no wait this answer could go to.
        errors.RunNotFound: No run matches.
    """
    hst = hst or host.get_host()
    full_id = resolve_run_id(run_id, hst=hst)
    return answers.submit_input(
        full_id, data, key=key, wait_id=wait_id, responder=responder, channel=channel, hst=hst
    )
