"""The storage port: records and the `Store` protocol every adapter implements.

A store keeps runs, their state transitions, their journal of steps and their
logs. Payloads (parameters, results, errors) travel as JSON text made by
`tarry.serialization`; the store never looks inside them. Timestamps are Unix
seconds as floats.

Writes that return are durable to the degree the adapter promises (SQLite with
`synchronous=FULL`: they survive power loss), except `add_logs`, which may be
batched with the next write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from tarry import states
from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus
from tarry.storage.outbox import OutboxStore
from tarry.storage.wakeups import Unlisten, Wake

__all__ = [
    "UNSET",
    "EarlyInput",
    "LogRecord",
    "RunFilter",
    "RunRecord",
    "StateChange",
    "StepRecord",
    "Store",
    "TransitionRecord",
    "Unset",
    "WaitClose",
    "WaitClosed",
    "WaitRecord",
    "apply_change",
    "change_allowed",
    "closed_by",
    "resumed_change",
    "step_order",
    "suspend_change",
]


class Unset:
    """Type of `UNSET`: "leave as it is", where `None` would mean "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


@dataclasses.dataclass(frozen=True, slots=True)
class RunRecord:
    """One flow run as stored."""

    id: str
    """Unique id (a UUID for top-level runs, derived from the parent for children)."""
    name: str
    """Human-friendly name such as `brave-otter`."""
    flow_name: str
    """Name of the flow it runs."""
    entrypoint: str
    """`module:function` or `path/to/file.py:function`, so any worker can load it."""
    parameters: str
    """JSON of the call's parameters by name."""
    state: RunState
    """Current state."""
    created_at: float
    """When the run was created."""
    state_reason: str = ""
    """Why it entered its current state, in words."""
    parent_id: str | None = None
    """The run that started it as a child flow."""
    parent_step_key: str | None = None
    """The parent's journal key for this child run."""
    attempt: int = 1
    """Flow attempt number, raised by flow retries."""
    result: str | None = None
    """JSON of the return value once Completed."""
    error: str | None = None
    """JSON description of the error once Failed or Crashed."""
    lease_owner: str | None = None
    """`host:pid:start` of the process executing it."""
    lease_expires_at: float | None = None
    """When another process may take it over if the owner stops heart-beating."""
    started_at: float | None = None
    """First time it entered Running."""
    ended_at: float | None = None
    """When it entered a final state."""
    tags: tuple[str, ...] = ()
    """Tags given to the flow."""


@dataclasses.dataclass(frozen=True, slots=True)
class StepRecord:
    """One journal entry: a task call, child run or recorded value."""

    run_id: str
    """The run whose journal holds it."""
    key: str
    """Position in the journal: `"3"`, or `"3.1"` for a call nested in step 3."""
    name: str
    """Task or flow name, checked on replay."""
    kind: StepKind
    """What it records."""
    inputs_digest: str
    """Digest of its arguments, checked on replay."""
    status: StepStatus
    """How it ended."""
    started_at: float
    """When its first attempt began."""
    ended_at: float
    """When it ended."""
    result: str | None = None
    """JSON of the return value when Completed."""
    error: str | None = None
    """JSON description of the error when Failed."""
    attempts: int = 1
    """How many times it was tried."""
    flow_attempt: int = 1
    """The flow attempt that recorded it; a failed step re-runs on a later flow attempt."""
    child_run_id: str | None = None
    """The child run, for subflow steps."""


@dataclasses.dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line of a run."""

    run_id: str
    """The run that logged it."""
    at: float
    """When."""
    level: int
    """`logging` level number."""
    message: str
    """The formatted message."""
    step_key: str | None = None
    """The step that logged it, if any."""
    logger: str = ""
    """Logger name."""


@dataclasses.dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One state change of a run."""

    run_id: str
    """The run."""
    from_state: RunState | None
    """The state it left (`None` on creation)."""
    to_state: RunState
    """The state it entered."""
    at: float
    """When."""
    reason: str = ""
    """Why, in words."""


@dataclasses.dataclass(frozen=True, slots=True)
class WaitRecord:
    """One thing a run waits for at one journal position.

    A `wait_any` has one record per alternative (`alt` 0, 1, ...) at the same key.
    """

    id: str
    """Unique id, used to address the wait from links, the API and the CLI."""
    run_id: str
    """The waiting run."""
    step_key: str
    """The journal key whose entry the wait's outcome becomes."""
    kind: WaitKind
    """Input or timer."""
    name: str
    """The name people and programs address it by (`key=` / `wait_for_input` name)."""
    status: WaitStatus
    """Open, answered, timed out or cancelled."""
    created_at: float
    """When the run reached it."""
    alt: int = 0
    """Which alternative of a `wait_any` this is."""
    attempt: int = 1
    """The flow attempt that reached it (a flow retry waits again at the same key)."""
    label: str = ""
    """The journal name of the whole wait at this key (the same for every alternative)."""
    spec: str | None = None
    """JSON of the input spec (schema, description, initial data) for input waits."""
    on_timeout: str = '{"kind": "fail"}'
    """JSON of what happens at the deadline: fail, default, a value, or fire (timers)."""
    deadline: float | None = None
    """When the timeout outcome applies (`None`: never)."""
    answer: str | None = None
    """JSON of the accepted answer."""
    closed_at: float | None = None
    """When it was answered, timed out or cancelled."""
    responder: str | None = None
    """Who answered."""
    channel: str | None = None
    """How the answer came: python, api, ui, cli, link, email, timer, ..."""
    prompt: str | None = None
    """The prompt the responder saw."""


@dataclasses.dataclass(frozen=True, slots=True)
class EarlyInput:
    """An answer sent for a named wait the run has not reached yet."""

    run_id: str
    """The run it is for."""
    name: str
    """The wait name it answers."""
    data: str
    """JSON of the answer as sent (validated when the wait is reached)."""
    sent_at: float
    """When it was sent."""
    responder: str | None = None
    """Who sent it."""
    channel: str = ""
    """How it came."""
    status: str = "pending"
    """`pending`, `consumed` or `rejected`."""
    detail: str | None = None
    """Why it was rejected."""
    id: int | None = None
    """Its id in the store, once stored."""


@dataclasses.dataclass(frozen=True, slots=True)
class WaitClose:
    """Closing a wait: its answer or timeout, and the journal entry it becomes."""

    wait_id: str
    """The wait (alternative) that wins."""
    status: WaitStatus
    """Answered or timed out."""
    at: float
    """When."""
    step: StepRecord
    """The journal entry written at the wait's key in the same transaction."""
    answer: str | None = None
    """JSON of the accepted answer."""
    responder: str | None = None
    """Who answered."""
    channel: str | None = None
    """How."""
    prompt: str | None = None
    """The prompt they saw."""
    early_input_id: int | None = None
    """An early input this answer consumes."""
    reason: str = ""
    """Why the run may go on, in words (stored with its transition)."""
    resume_as: StateChange | None = None
    """For a suspended top-level run: `None` makes it Pending, for any process to
    claim; a change to Running with a lease hands it straight to the caller that
    awaits it in the closing process, saving a claim."""
    message_id: int | None = None
    """A message this close delivers (it becomes received at the wait's key)."""


@dataclasses.dataclass(frozen=True, slots=True)
class WaitClosed:
    """What `Store.close_wait` did."""

    won: bool
    """Whether this close was applied (`False`: the wait was closed before)."""
    wait: WaitRecord
    """The wait as it is now."""
    ready_run_id: str | None = None
    """The top-level run made Pending by this close (it was suspended), if any."""
    resumed_run: RunRecord | None = None
    """The suspended top-level run that `WaitClose.resume_as` made Running, if any."""


@dataclasses.dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message sent to a run, received at most once, at one key of its journal."""

    run_id: str
    """The run it is sent to."""
    key: str
    """Unique among the messages of that run: sending the same key again is a no-op."""
    data: str
    """JSON of the value."""
    sent_at: float
    """When it was sent."""
    sender_run_id: str | None = None
    """The run that sent it (replies go there), if a run did."""
    sender: str | None = None
    """Who or what sent it, in words (a person, `api`, `cli`)."""
    reply_to: str | None = None
    """The key of the message this one answers."""
    status: str = "pending"
    """`pending` until a receive takes it, then `received`."""
    received_at: float | None = None
    """When it was received."""
    received_step_key: str | None = None
    """The receiver's journal key that holds it."""
    id: int | None = None
    """Set by the store, in order of sending."""


@dataclasses.dataclass(frozen=True, slots=True)
class MessageSent:
    """What `Store.send_message` did."""

    message: MessageRecord
    """The message as stored (the earlier one when its key was sent before)."""
    created: bool
    """False when a message with that key had been sent before: nothing changed."""
    closed: WaitClosed | None = None
    """The receive it was delivered to at once, if the receiver was waiting for it."""
    step: StepRecord | None = None
    """The journal entry that delivery wrote (for waking the receiver)."""


@dataclasses.dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """A flow registered by name, so runs of it can be started by name."""

    name: str
    """Unique name, `flow-name/deployment-name`."""
    flow_name: str
    """Name of the flow."""
    entrypoint: str
    """`module:function` or `path/to/file.py:function`, so any worker can load it."""
    created_at: float
    """When it was first registered."""
    updated_at: float
    """When it was last registered."""
    description: str = ""
    """What it does (markdown), from the flow's docstring by default."""
    parameters: str = "{}"
    """JSON of default parameters by name."""
    parameter_schema: str = "{}"
    """JSON Schema of the flow's parameters (for forms that start a run)."""
    tags: tuple[str, ...] = ()
    """Tags."""


@dataclasses.dataclass(frozen=True, slots=True)
class RunsCancelled:
    """What `Store.cancel_run` did."""

    runs: list[RunRecord]
    """The runs it cancelled (the run and its unfinished descendants), as they are now."""
    wait_ids: list[str]
    """The open waits of those runs that it closed."""


@dataclasses.dataclass(frozen=True, slots=True)
class StateChange:
    """A state change to apply to a run, with what goes with it."""

    to_state: RunState
    """The new state."""
    at: float
    """When it happens."""
    reason: str = ""
    """Why, in words; stored with the transition."""
    result: str | Unset | None = UNSET
    """New result JSON, or leave."""
    error: str | Unset | None = UNSET
    """New error JSON, or leave."""
    lease_owner: str | Unset | None = UNSET
    """New lease holder (`None` releases the lease), or leave."""
    lease_expires_at: float | Unset | None = UNSET
    """New lease expiry, or leave."""
    attempt: int | Unset = UNSET
    """New flow attempt number, or leave."""
    require_owner: str | None = None
    """Apply only while this process holds the run's lease (`None`: whoever holds it)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs `Store.list_runs` returns, newest first."""

    states: Collection[RunState] = ()
    """Only these states (all when empty)."""
    flow_name: str | None = None
    """Only this flow."""
    parent_id: str | Unset | None = UNSET
    """Only children of this run; `None` for top-level runs only."""
    limit: int = 50
    """At most this many."""
    offset: int = 0
    """Skip this many."""


class Store(OutboxStore, Protocol):
    """Durable home of runs, journals, logs and the outbox. One adapter per database."""

    def migrate(self) -> None:
        """Bring the schema up to date, applying numbered migrations in order.

        Safe to call from several processes at once.

        Raises:
            errors.MigrationError: The database is newer than this tarry or broken.
        """

    def close(self) -> None:
        """Flush pending writes and close connections. Later calls fail."""

    def insert_run(self, run: RunRecord, reason: str = "", *, durable: bool = True) -> bool:
        """Store a new run and its first transition, atomically.

        With `durable=False` the write survives a process crash at once but may
        reach stable storage only with the store's next durable write; a process
        that creates a run and executes it itself uses that to save a flush.

        Returns:
            `False`, and changes nothing, when a run with this id exists.
        """

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or `None`."""

    def run_states(self, run_ids: Sequence[str]) -> dict[str, RunState]:
        """The state of each of `run_ids` that exists (one query, for many runs)."""

    def run_ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to `limit` run ids that start with `prefix`, in id order (empty when none)."""

    def transition(
        self, run_id: str, expected: Collection[RunState], change: StateChange
    ) -> RunRecord | None:
        """Apply `change` if the run is in one of the `expected` states.

        When `change.require_owner` is set, the run must also be leased to it.

        The state, the fields of `change` and a transition row are written in one
        transaction. `ended_at` is set on entering a final state, `started_at` on
        first entering Running.

        Returns:
            The updated run, or `None` (nothing written) when the run is missing or
            in another state.
        """

    def claim_runs(
        self,
        owner: str,
        lease_expires_at: float,
        now: float,
        dead_owners: Collection[str],
        *,
        limit: int,
        exclude: Collection[str] = (),
        recover: bool = True,
    ) -> list[RunRecord]:
        """Take up to `limit` top-level runs that need a process, atomically.

        Claimable: Pending runs, and Running runs whose lease expired before `now`
        or whose holder is in `dead_owners`. Each claimed run becomes Running with
        `owner`'s lease, and a transition row says why. Child runs are never
        claimed: their parent's replay re-enters them, nor are runs in `exclude`.
        With `recover=False` only Pending runs are claimed (the search for runs of
        gone processes reads every leased run; workers make it now and then).
        A run claimed for the first time gets `started_at = now`; one that started
        before keeps its own, so `started_at == now` tells the caller that the run
        has no journal yet.

        Returns:
            The claimed runs as updated.
        """

    def lease_owners(self) -> list[str]:
        """Distinct lease holders of Running runs."""

    def renew_leases(self, owner: str, lease_expires_at: float) -> int:
        """Extend every lease `owner` holds on a Running run. Returns how many."""

    def put_step(self, step: StepRecord, *, owner: str | None = None) -> bool:
        """Record a step, replacing an entry with the same run and key.

        With `owner`, only while that process holds the run's lease: a process that
        lost the run (paused past its lease, another took it over) cannot overwrite
        the journal. Returns whether the step was recorded.
        """

    def get_steps(self, run_id: str) -> list[StepRecord]:
        """The run's journal in key order (empty when none)."""

    def get_step(self, run_id: str, key: str) -> StepRecord | None:
        """One journal entry of the run, or `None`."""

    def add_logs(self, logs: Sequence[LogRecord]) -> None:
        """Append log lines. They may be written with the next write, not at once."""

    def get_logs(self, run_id: str, limit: int = 1000) -> list[LogRecord]:
        """The run's first `limit` log lines in the order they were logged."""

    def get_transitions(self, run_id: str) -> list[TransitionRecord]:
        """The run's state changes, oldest first."""

    def list_runs(self, where: RunFilter) -> list[RunRecord]:
        """Runs matching `where`, newest first."""

    # -- messages ------------------------------------------------------------------------

    def send_message(
        self, message: MessageRecord, resume_as: StateChange | None = None
    ) -> MessageSent:
        """Store a message and deliver it to a matching open receive of its run, atomically.

        The receiving run's oldest open MESSAGE wait whose filters the message
        passes is closed with it (as `close_wait` would, with `resume_as`).
        Otherwise the message stays pending until a receive opens; `open_waits`
        delivers the oldest matching pending message at once.

        Returns:
            What was done; `created=False` when the key was sent before.
        """

    def messages_of_run(
        self, run_id: str, *, sent: bool = False, limit: int = 200
    ) -> list[MessageRecord]:
        """Messages sent to the run (or, with `sent`, by it), oldest first."""

    # -- variables -----------------------------------------------------------------------

    def get_variable(self, name: str) -> str | None:
        """The JSON value of a variable, or `None` when it is not set."""

    def set_variable(self, name: str, value: str, at: float, *, overwrite: bool) -> bool:
        """Set a variable to a JSON value.

        Returns:
            `False`, and nothing changed, when it was set before and not `overwrite`.
        """

    # -- deployments ---------------------------------------------------------------------

    def put_deployment(self, deployment: DeploymentRecord) -> DeploymentRecord:
        """Register a deployment, or update the one of that name (keeping `created_at`).

        Returns:
            The deployment as stored.
        """

    def get_deployment(self, name: str) -> DeploymentRecord | None:
        """The deployment of this name, or `None`."""

    def list_deployments(self, limit: int = 50, offset: int = 0) -> list[DeploymentRecord]:
        """Deployments by name."""

    # -- waits ---------------------------------------------------------------------------

    def open_waits(self, waits: Sequence[WaitRecord], change: StateChange) -> list[WaitRecord]:
        """Store the waits of one journal key and move their run to Waiting, atomically.

        Waits already stored are skipped; `change` applies only if the run is Running
        and none of the waits at that key is closed yet. A MESSAGE wait is closed at
        once with the oldest pending message it takes. Adapters may commit this
        lazily: a run whose wait was lost opens it again when it is recovered.

        Returns:
            The waits stored at that key, as they are now (some may be closed).
        """

    def close_wait(self, close: WaitClose) -> WaitClosed | None:
        """Answer or time out a wait if it is still open, atomically.

        One transaction writes the wait, cancels its other alternatives, writes the
        journal entry and consumes the early input. If the waiting run is resident
        (Waiting with a lease) it goes back to Running; if its top-level run is
        suspended (Waiting with no lease), that run moves on as `close.resume_as`
        says (Pending by default).

        Returns:
            What was done (`won=False` and the wait as it is when it was closed
            before), or `None` when no wait has that id.
        """

    def suspend_runs(
        self,
        run_ids: Sequence[str],
        wait_ids: Sequence[str],
        *,
        owner: str,
        at: float,
        reason: str,
    ) -> bool:
        """Release the leases of a waiting run and its ancestors, atomically.

        `run_ids` (all leased to `owner`) become Waiting with no lease, if every wait
        in `wait_ids` is still open.

        Returns:
            `False`, and nothing changed, when one of the waits was closed meanwhile.
        """

    def cancel_run(self, run_id: str, at: float, reason: str) -> RunsCancelled | None:
        """Cancel a run and its unfinished descendants, and close their open waits, atomically.

        Whoever holds their leases loses them; runs already final stay as they are.

        Returns:
            What was cancelled (nothing when the run had ended), or `None` when no
            run has that id.
        """

    def get_wait(self, wait_id: str) -> WaitRecord | None:
        """The wait with this id, or `None`."""

    def waits_of_run(self, run_id: str) -> list[WaitRecord]:
        """All waits of a run, oldest first."""

    def open_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[WaitRecord]:
        """Open input waits (of one run, or of all runs), oldest first."""

    def due_waits(self, now: float, limit: int) -> list[WaitRecord]:
        """Open waits whose deadline is at or before `now`, earliest first."""

    def closed_waits_since(self, since: float) -> list[tuple[str, str, float]]:
        """`(wait_id, run_id, closed_at)` of waits closed at or after `since`."""

    def add_early_input(self, early: EarlyInput) -> int:
        """Keep an answer for a wait the run has not reached. Returns its id."""

    def pending_early_inputs(self, run_id: str, name: str) -> list[EarlyInput]:
        """Pending early inputs for a run's wait name, oldest first."""

    def reject_early_input(self, early_id: int, detail: str) -> None:
        """Mark a pending early input rejected, with the reason."""

    def listen(self, callback: Callable[[Wake], None]) -> Unlisten | None:
        """Push what other processes change to `callback`, from a background thread.

        Returns:
            How to stop, or `None` when this store cannot push (then the process
            polls: one indexed query per tick for all its waiters).
        """

    def serves_timers(self) -> bool:
        """Whether this process should fire due timers now.

        On a store many processes share, one process at a time does (the others
        take over if it goes); closing a wait is first-wins anyway, so a timer
        never fires twice.
        """


def change_allowed(
    run: RunRecord | None, expected: Collection[RunState], change: StateChange
) -> bool:
    """Whether `Store.transition` applies `change` to `run` (its preconditions hold)."""
    if run is None or run.state not in expected:
        return False
    return change.require_owner is None or run.lease_owner == change.require_owner


def closed_by(wait: WaitRecord, close: WaitClose) -> WaitRecord:
    """`wait` as `close` leaves it."""
    return dataclasses.replace(
        wait,
        status=close.status,
        answer=close.answer,
        closed_at=close.at,
        responder=close.responder,
        channel=close.channel,
        prompt=close.prompt,
    )


def suspend_change(owner: str, at: float, reason: str) -> StateChange:
    """Waiting with the lease released, for runs `owner` holds that leave memory."""
    return StateChange(
        RunState.WAITING,
        at=at,
        reason=reason,
        lease_owner=None,
        lease_expires_at=None,
        require_owner=owner,
    )


def wait_closed(wait: WaitRecord, close: WaitClose, woken_root: RunRecord | None) -> WaitClosed:
    """What a won `close` did, given the suspended top-level run it moved on (as it is now)."""
    closed = closed_by(wait, close)
    if woken_root is None:
        return WaitClosed(won=True, wait=closed)
    if woken_root.state is RunState.PENDING:
        return WaitClosed(won=True, wait=closed, ready_run_id=woken_root.id)
    return WaitClosed(won=True, wait=closed, resumed_run=woken_root)


def wait_entry(wait: WaitRecord, result: str, at: float) -> StepRecord:
    """The journal entry a closed wait becomes, holding `result` (JSON of its outcome)."""
    return StepRecord(
        run_id=wait.run_id,
        key=wait.step_key,
        name=wait.label or wait.name,
        kind=StepKind.WAIT,
        inputs_digest="",
        status=StepStatus.COMPLETED,
        started_at=wait.created_at,
        ended_at=at,
        result=result,
        flow_attempt=wait.attempt,
    )


def woken_root_change(close: WaitClose) -> StateChange:
    """How a suspended top-level run leaves Waiting when `close` ends its wait."""
    if close.resume_as is not None:
        return close.resume_as
    return StateChange(RunState.PENDING, at=close.at, reason=close.reason)


def run_to_wake(runs: Mapping[str, RunRecord], run_id: str) -> tuple[RunRecord, bool] | None:
    """Which run a won close of a wait of `run_id` moves on (pure).

    Args:
        runs: At least the waiting run and its ancestors, by id.
        run_id: The waiting run.

    Returns:
        `(run, False)` for a resident waiting run (Waiting with a lease), which goes
        back to Running; `(top-level run, True)` when that run is suspended (Waiting
        with no lease), which moves on as `woken_root_change` says; `None` when no
        run needs to change (the run runs again already).
    """
    run = runs[run_id]
    if run.state is RunState.WAITING and run.lease_owner is not None:
        return run, False
    while run.parent_id is not None:
        run = runs[run.parent_id]
    if run.state is not RunState.WAITING or run.lease_owner is not None:
        return None
    return run, True


def cancel_change(at: float, reason: str) -> StateChange:
    """Cancelled, from any unfinished state, whoever holds the lease."""
    return StateChange(RunState.CANCELLED, at=at, reason=reason)


def resumed_change(close: WaitClose) -> StateChange:
    """Back to Running, for a resident run whose wait `close` ends (its lease stays)."""
    return StateChange(RunState.RUNNING, at=close.at, reason=close.reason)


def apply_change(run: RunRecord, change: StateChange) -> RunRecord:
    """The run as it is after `change`: the pure core of every adapter's `transition`.

    Raises:
        errors.InvalidTransition: `states.TRANSITIONS` does not allow the change.
    """
    states.check_transition(run.id, run.state, change.to_state)
    fields = {
        name: value
        for name in ("result", "error", "lease_owner", "lease_expires_at", "attempt")
        if not isinstance(value := getattr(change, name), Unset)
    }
    if change.to_state.is_final:
        fields.update(ended_at=change.at, lease_owner=None, lease_expires_at=None)
    if change.to_state is RunState.RUNNING and run.started_at is None:
        fields["started_at"] = change.at
    return dataclasses.replace(run, state=change.to_state, state_reason=change.reason, **fields)


def step_order(key: str) -> tuple[int, ...]:
    """Sort key that puts journal key `"10"` after `"9"` and `"3.1"` after `"3"`."""
    return tuple(int(part) for part in key.split("."))
