"""The one entry point every interface (API, web UI, CLI, client) uses.

Each function takes ids or names and plain data, and returns store records or
small dataclasses; errors are `tarry.errors` exceptions that the interfaces turn
into status codes and messages. Run ids may be given as a unique prefix.

Every value from outside passes `tarry.boundary.check` here, before any store
sees it: a NUL character, a number that is not finite, or a value too deep or
too large is refused with `errors.ValueRefused` (422 in the API), and an id that
holds a NUL is not found (404).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Collection
from typing import Any

from tarry import boundary, deployments, errors, event_service, host, names
from tarry.engine import answers, mailbox
from tarry.states import RETRYABLE, RunState, WaitKind, WaitStatus
from tarry.storage import records
from tarry.storage.outbox import OutboxItem

__all__ = [
    "InboxItem",
    "RunDetail",
    "cancel_run",
    "get_deployment",
    "get_inbox_item",
    "get_run",
    "get_run_detail",
    "list_deployments",
    "list_inbox",
    "list_messages",
    "list_pending_inputs",
    "list_runs",
    "list_schedules",
    "rerun",
    "resolve_run_id",
    "retry_run",
    "send_message",
    "set_schedule_active",
    "start_run",
    "submit_input",
    "suspend_run",
    "upcoming_runs",
]

_SUSPEND_WAIT_SECONDS = 5.0


@dataclasses.dataclass(frozen=True)
class RunDetail:
    """A run with its journal, logs, state changes, waits and child runs."""

    run: records.RunRecord
    """The run."""
    steps: list[records.StepRecord]
    """Its journal, in key order."""
    logs: list[records.LogRecord]
    """Its log lines, oldest first."""
    transitions: list[records.TransitionRecord]
    """Its state changes, oldest first."""
    children: list[records.RunRecord]
    """Runs it started as child flows."""
    waits: list[records.WaitRecord] = dataclasses.field(default_factory=list)
    """Its waits, oldest first (the open ones are what it waits for now)."""
    messages_in: list[records.MessageRecord] = dataclasses.field(default_factory=list)
    """Messages sent to it, oldest first."""
    messages_out: list[records.MessageRecord] = dataclasses.field(default_factory=list)
    """Messages it sent, oldest first."""
    outbox: list[OutboxItem] = dataclasses.field(default_factory=list)
    """Notifications and mail it sent or will send, oldest first."""


@dataclasses.dataclass(frozen=True)
class InboxItem:
    """An open (or just closed) input wait, with its run and the form it asks for."""

    wait: records.WaitRecord
    """The wait."""
    run: records.RunRecord
    """The run that waits."""
    spec: dict[str, Any] | None
    """The stored input spec (`InputSpec.to_json()`): schema, description, initial data."""


def _host(hst: host.Host | None) -> host.Host:
    return hst or host.get_host()


# -- runs ------------------------------------------------------------------------------------


def list_runs(
    *,
    states: Collection[RunState] = (),
    flow_name: str | None = None,
    parent_id: str | records.Unset | None = records.UNSET,
    limit: int = 50,
    offset: int = 0,
    hst: host.Host | None = None,
) -> list[records.RunRecord]:
    """Runs, newest first, filtered by state, flow name and parent (`None`: top-level only).

    Raises:
        errors.ValueRefused: The flow name holds a NUL or is too long.
    """
    hst = _host(hst)
    boundary.check(hst.settings, flow=flow_name)
    where = records.RunFilter(
        states=states, flow_name=flow_name, parent_id=parent_id, limit=limit, offset=offset
    )
    return hst.store.list_runs(where)


def resolve_run_id(id_or_prefix: str, *, hst: host.Host | None = None) -> str:
    """The full id of the one run whose id is, or starts with, `id_or_prefix`, or whose name it is.

    A run is named where its id is (`tarry runs show humble-orca`): an id or a prefix of
    one comes first, then a name, which must be one run's only.

    Raises:
        errors.RunNotFound: No run matches, or several do.
    """
    if not boundary.may_exist(id_or_prefix):
        raise errors.RunNotFound(id_or_prefix)
    store = _host(hst).store
    if store.get_run(id_or_prefix) is not None:
        return id_or_prefix
    matches = store.run_ids_starting_with(id_or_prefix, limit=2) if id_or_prefix else []
    if not matches and id_or_prefix:
        named = store.list_runs(records.RunFilter(name=id_or_prefix, limit=2))
        matches = [run.id for run in named]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise errors.RunNotFound(id_or_prefix, ambiguous=True)
    raise errors.RunNotFound(id_or_prefix)


def get_run(run_id: str, *, hst: host.Host | None = None) -> records.RunRecord:
    """One run, by id or unique prefix.

    Raises:
        errors.RunNotFound: No run matches, or several do.
    """
    hst = _host(hst)
    run = hst.store.get_run(resolve_run_id(run_id, hst=hst))
    if run is None:
        raise errors.RunNotFound(run_id)
    return run


def get_run_detail(run_id: str, *, hst: host.Host | None = None) -> RunDetail:
    """Everything stored about one run, found by its id or a unique prefix of it.

    Raises:
        errors.RunNotFound: No run has this id, or the prefix is ambiguous.
    """
    hst = _host(hst)
    run = get_run(run_id, hst=hst)
    store = hst.store
    return RunDetail(
        run=run,
        steps=store.get_steps(run.id),
        logs=store.get_logs(run.id),
        transitions=store.get_transitions(run.id),
        children=store.list_runs(records.RunFilter(parent_id=run.id, limit=1000)),
        waits=store.waits_of_run(run.id),
        messages_in=store.messages_of_run(run.id),
        messages_out=store.messages_of_run(run.id, sent=True),
        outbox=store.outbox_of_run(run.id),
    )


def cancel_run(
    run_id: str, *, by: str | None = None, hst: host.Host | None = None
) -> records.RunRecord:
    """Cancel a run and its child runs; a waiting run's open waits close.

    A run executing in this process stops at its next step or wait; one executing
    in another process stops when that process next hears of it.

    Raises:
        errors.RunNotFound: No run matches.
        errors.RunEnded: The run has already ended.
    """
    hst = _host(hst)
    run = get_run(run_id, hst=hst)
    reason = f"cancelled by {by}" if by else "cancelled"
    done = hst.store.cancel_run(run.id, hst.clock.now(), reason)
    if done is None:
        raise errors.RunNotFound(run_id)
    if not done.runs:
        raise errors.RunEnded(run.id, run.state.value, "cancelled")
    hst.abort([r.id for r in done.runs], reason)
    hst.hub.run_ready(run.id)
    for cancelled in done.runs:
        answers.tell_blocked_senders(hst, cancelled)
    return done.runs[0]


def suspend_run(run_id: str, *, hst: host.Host | None = None) -> records.RunRecord:
    """Take a waiting run out of memory now; it resumes by replay when its wait ends.

    A run that is already suspended is returned as it is.

    Raises:
        errors.RunNotFound: No run matches.
        errors.RunEnded: The run has ended.
        errors.NotWaiting: The run is not waiting, or waits in another process.
    """
    hst = _host(hst)
    run = get_run(run_id, hst=hst)
    if run.state.is_final:
        raise errors.RunEnded(run.id, run.state.value, "suspended")
    if run.state is not RunState.WAITING:
        raise errors.NotWaiting(run.id, f"is {run.state.value}; only a waiting run is suspended")
    if run.lease_owner is None:
        return run
    if not hst.hub.ask_to_suspend(run.id):
        raise errors.NotWaiting(run.id, f"waits in another process ({run.lease_owner})")
    return _until_released(hst, run.id)


def _until_released(hst: host.Host, run_id: str) -> records.RunRecord:
    deadline = time.monotonic() + _SUSPEND_WAIT_SECONDS
    while True:
        run = hst.store.get_run(run_id)
        if run is None:
            raise errors.RunNotFound(run_id)
        if run.lease_owner is None or run.state is not RunState.WAITING:
            return run
        if time.monotonic() > deadline:
            return run
        time.sleep(0.005)


def retry_run(
    run_id: str, *, by: str | None = None, hst: host.Host | None = None
) -> records.RunRecord:
    """Continue a Failed or Crashed run from its journal: the same run, its next attempt.

    Steps that finished keep their results (they are not run again); the steps that
    failed, and those after them, run. Any worker that has the flow's code executes it.

    Raises:
        errors.RunNotFound: No run matches.
        errors.NotRetryable: The run is not Failed or Crashed, or is a child run (its
            parent is retried instead, and calls it again).
    """
    hst = _host(hst)
    run = get_run(run_id, hst=hst)
    _check_retryable(run)
    change = records.StateChange(
        RunState.PENDING,
        at=hst.clock.now(),
        reason=f"retried by {by}" if by else "retried",
        error=None,
        attempt=run.attempt + 1,
    )
    retried = hst.store.transition(run.id, (run.state,), change)
    if retried is None:  # it changed meanwhile (someone else retried it first)
        raise errors.NotRetryable(run.id, get_run(run.id, hst=hst).state.value, _ONLY_ENDED)
    hst.hub.run_ready(run.id)
    return retried


_ONLY_ENDED = "only a Failed or Crashed run is retried"


def _check_retryable(run: records.RunRecord) -> None:
    if run.state not in RETRYABLE:
        raise errors.NotRetryable(run.id, run.state.value, _ONLY_ENDED)
    if run.parent_id is not None:
        why = f"it is a child run: retry its parent run {run.parent_id}, which calls it again"
        raise errors.NotRetryable(run.id, run.state.value, why)


def rerun(run_id: str, *, hst: host.Host | None = None) -> records.RunRecord:
    """Start a new run of the same flow with the same parameters (the old run stays as it is).

    Raises:
        errors.RunNotFound: No run matches.
    """
    hst = _host(hst)
    run = get_run(run_id, hst=hst)
    fresh = records.RunRecord(
        id=str(uuid.uuid4()),
        name=names.run_name(),
        flow_name=run.flow_name,
        entrypoint=run.entrypoint,
        parameters=run.parameters,
        state=RunState.PENDING,
        created_at=hst.clock.now(),
        tags=run.tags,
        deployment=run.deployment,
        work_pool=run.work_pool,
        work_queue=run.work_queue,
    )
    hst.store.insert_run(fresh, f"a rerun of {run.name} ({run.id})")
    hst.hub.run_ready(fresh.id)
    return fresh


# -- deployments ------------------------------------------------------------------------------


def list_deployments(
    *, limit: int = 50, offset: int = 0, hst: host.Host | None = None
) -> list[records.DeploymentRecord]:
    """Deployments, by name."""
    return _host(hst).store.list_deployments(limit=limit, offset=offset)


def get_deployment(name: str, *, hst: host.Host | None = None) -> records.DeploymentRecord:
    """One deployment by name.

    Raises:
        errors.DeploymentNotFound: No deployment has this name.
    """
    found = _host(hst).store.get_deployment(name) if boundary.may_exist(name) else None
    if found is None:
        raise errors.DeploymentNotFound(name)
    return found


def start_run(
    deployment_name: str,
    parameters: dict[str, Any] | None = None,
    *,
    hst: host.Host | None = None,
) -> records.RunRecord:
    """Create a Pending run of a deployment; a worker that has its code executes it.

    Parameters are checked against the flow's signature (merged over the
    deployment's defaults) before the run is created.

    Raises:
        errors.DeploymentNotFound: No deployment has this name.
        errors.FlowLoadError: This process cannot import the deployment's flow.
        errors.ParameterError: The parameters do not fit the flow.
        errors.ValueRefused: The parameters cannot be stored (see `tarry.boundary`).
    """
    hst = _host(hst)
    if not boundary.may_exist(deployment_name):
        raise errors.DeploymentNotFound(deployment_name)
    boundary.check(hst.settings, "the parameters", parameters or {})
    return deployments.start(deployment_name, parameters, hst=hst)


# -- schedules ------------------------------------------------------------------------------


def list_schedules(
    deployment_name: str, *, hst: host.Host | None = None
) -> list[records.ScheduleRecord]:
    """The deployment's schedules, by slug.

    Raises:
        errors.DeploymentNotFound: No deployment has this name.
    """
    get_deployment(deployment_name, hst=hst)
    return _host(hst).store.list_schedules(deployment_name)


def set_schedule_active(
    deployment_name: str,
    slug: str | None,
    active: bool,
    *,
    hst: host.Host | None = None,
) -> list[records.ScheduleRecord]:
    """Pause (`active=False`) or resume a schedule of a deployment, or all of them.

    Pausing deletes the runs it made that are not due yet; resuming makes runs
    from now on (the paused time is not "missed").

    Args:
        deployment_name: The deployment.
        slug: The schedule (`schedule-1`, ...); `None`: every schedule of the deployment.
        active: Resume (`True`) or pause.
        hst: The host; this process's by default.

    Returns:
        The schedules changed, as stored now.

    Raises:
        errors.DeploymentNotFound: No deployment has this name.
        errors.ScheduleNotFound: The deployment has no schedule of this slug.
    """
    hst = _host(hst)
    known = [s.slug for s in list_schedules(deployment_name, hst=hst)]
    if slug is not None and slug not in known:
        shown = ", ".join(known) or "none"
        raise errors.ScheduleNotFound(
            f"deployment {deployment_name!r} has no schedule {slug!r} (it has: {shown})"
        )
    now = hst.clock.now()
    changed = [
        hst.store.set_schedule_active(deployment_name, each, active, now)
        for each in ([slug] if slug is not None else known)
    ]
    resource = event_service.deployment_resource(deployment_name)
    for found in (c for c in changed if c is not None):
        name = "tarry.schedule.resumed" if active else "tarry.schedule.paused"
        event_service.announce(hst, name, resource, {"schedule": found.slug})
    return [found for found in changed if found is not None]


def upcoming_runs(
    deployment_name: str, *, limit: int = 50, hst: host.Host | None = None
) -> list[tuple[records.SlotRecord, records.RunRecord]]:
    """The deployment's runs made ahead, not due yet or just due, earliest first.

    Raises:
        errors.DeploymentNotFound: No deployment has this name.
    """
    get_deployment(deployment_name, hst=hst)
    return _host(hst).store.upcoming_runs(deployment_name, limit)


# -- messages -------------------------------------------------------------------------------


def send_message(
    run_id: str,
    value: Any,
    *,
    key: str | None = None,
    sender: str | None = None,
    hst: host.Host | None = None,
) -> records.MessageRecord:
    """Send `value` to a run (see `tarry.send_input`); `run_id` may be a prefix.

    Raises:
        errors.RunNotFound: No run matches.
        errors.RunEnded: The run has ended: nothing would ever receive the message (a
            key sent before still gets the message it sent).
        errors.SerializationError: The value cannot be stored as JSON.
        errors.ValueRefused: The value, key or sender cannot be stored (see `tarry.boundary`).
    """
    hst = _host(hst)
    boundary.check(hst.settings, "the message", value, key=key, sender=sender)
    run = get_run(run_id, hst=hst)
    if run.state.is_final:
        # The same key sent again (a retry) gets the message sent before, as while it runs.
        sent = hst.store.message_with_key(run.id, key) if key is not None else None
        if sent is None:
            raise errors.RunEnded(run.id, run.state.value, "sent a message")
        return sent
    return mailbox.send(value, run.id, sender, key, hst=hst)


def list_messages(
    run_id: str, *, sent: bool = False, limit: int = 200, hst: host.Host | None = None
) -> list[records.MessageRecord]:
    """Messages sent to a run (its inbox), or with `sent` by it (its outbox), oldest first.

    Raises:
        errors.RunNotFound: No run matches.
    """
    hst = _host(hst)
    return hst.store.messages_of_run(resolve_run_id(run_id, hst=hst), sent=sent, limit=limit)


# -- inputs ---------------------------------------------------------------------------------


def list_pending_inputs(
    run_id: str | None = None, *, limit: int = 50, offset: int = 0, hst: host.Host | None = None
) -> list[records.WaitRecord]:
    """Open input waits across runs (the inbox), oldest first."""
    hst = _host(hst)
    resolved = resolve_run_id(run_id, hst=hst) if run_id else None
    return hst.store.open_inputs(resolved, limit=limit, offset=offset)


def list_inbox(
    run_id: str | None = None, *, limit: int = 50, offset: int = 0, hst: host.Host | None = None
) -> list[InboxItem]:
    """Like `list_pending_inputs`, each with its run and input spec."""
    hst = _host(hst)
    waits = list_pending_inputs(run_id, limit=limit, offset=offset, hst=hst)
    return [_item(hst, wait) for wait in waits]


def get_inbox_item(wait_id: str, *, hst: host.Host | None = None) -> InboxItem:
    """One input wait (open or closed) with its run and input spec.

    Raises:
        errors.WaitNotFound: No input wait has this id.
    """
    hst = _host(hst)
    wait = hst.store.get_wait(wait_id) if boundary.may_exist(wait_id) else None
    if wait is None or wait.kind is not WaitKind.INPUT:
        raise errors.WaitNotFound(wait_id)
    return _item(hst, wait)


def _item(hst: host.Host, wait: records.WaitRecord) -> InboxItem:
    run = hst.store.get_run(wait.run_id)
    if run is None:
        raise errors.StoreError(f"wait {wait.id} belongs to a missing run {wait.run_id}")
    spec = json.loads(wait.spec) if wait.spec else None
    return InboxItem(wait=_with_race_deadline(hst, wait), run=run, spec=spec)


def _with_race_deadline(hst: host.Host, wait: records.WaitRecord) -> records.WaitRecord:
    """An open input raced against a timer (`wait_any`) closes when the timer fires.

    The deadline belongs to the timer; shown with the input, the person asked sees
    when the question expires.
    """
    if wait.deadline is not None or wait.status is not WaitStatus.OPEN:
        return wait
    deadlines = [
        other.deadline
        for other in hst.store.waits_of_run(wait.run_id)
        if other.step_key == wait.step_key
        and other.kind is WaitKind.TIMER
        and other.deadline is not None
    ]
    return dataclasses.replace(wait, deadline=min(deadlines)) if deadlines else wait


def submit_input(
    run_id: str,
    data: Any = None,
    *,
    key: str | None = None,
    wait_id: str | None = None,
    responder: str | None = None,
    channel: str = "api",
    prompt: str | None = None,
    hst: host.Host | None = None,
) -> answers.Submitted:
    """Answer a run's wait (see `tarry.answers.submit_input`); `run_id` may be a prefix.

    Raises:
        errors.InputInvalid: The answer does not fit, or (`errors.ValueRefused`) it
            cannot be stored; the run keeps waiting.
        errors.AlreadyAnswered: Someone answered first.
        errors.NotWaiting: The run has no wait this answer could go to.
        errors.RunNotFound: No run matches.
    """
    hst = _host(hst)
    # `prompt` is the flow's own question, not outside input: it is not checked.
    boundary.check(hst.settings, "the answer", data, key=key, wait_id=wait_id, responder=responder)
    full_id = resolve_run_id(run_id, hst=hst)
    return answers.submit_input(
        full_id,
        data,
        key=key,
        wait_id=wait_id,
        responder=responder,
        channel=channel,
        prompt=prompt,
        hst=hst,
    )
