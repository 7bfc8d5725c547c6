"""The storage port's records: the frozen values stores keep and return, and `UNSET`.

A store keeps runs, their state transitions, their journal of steps and their
logs. Payloads (parameters, results, errors) travel as JSON text made by
`tarry.serialization`; the store never looks inside them. Timestamps are Unix
seconds as floats.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus

__all__ = [
    "DEFAULT_POOL",
    "DEFAULT_QUEUE",
    "UNSET",
    "CacheEntry",
    "DeploymentRecord",
    "EarlyInput",
    "LogRecord",
    "MessageRecord",
    "MessageSent",
    "QueueCounts",
    "RunFilter",
    "RunRecord",
    "RunsCancelled",
    "ScheduleRecord",
    "SlotRecord",
    "StateChange",
    "StepRecord",
    "TransitionRecord",
    "Unset",
    "WaitClose",
    "WaitClosed",
    "WaitRecord",
    "WorkPoolRecord",
    "WorkQueueRecord",
]

#: The pool, and the queue of every pool, that runs go to unless they name others.
DEFAULT_POOL = "default"
DEFAULT_QUEUE = "default"


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
    deployment: str | None = None
    """The deployment it was started from (by hand or by a schedule), if any."""
    work_pool: str = DEFAULT_POOL
    """The pool whose workers execute it."""
    work_queue: str = DEFAULT_QUEUE
    """The queue of that pool it waits in while Pending."""


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
    cached_from: str | None = None
    """The cache key whose stored result this step returned without calling its task."""


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
    topic: str | None = None
    """What it is, for receivers: the key prefix it was sent under (Prefect's
    `<type>-auto` for a plain send, or the sender's `key_prefix=`; see
    `rules.message_matches`). `None` for a message that says no type (sent from
    the API, CLI or UI, or stored before tarry kept it): any receiver may take it."""
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
    work_pool: str = DEFAULT_POOL
    """The pool whose workers execute its runs."""
    work_queue: str = DEFAULT_QUEUE
    """The queue of that pool its runs wait in."""
    concurrency_limit: int | None = None
    """The most of its runs that hold a slot at once (`None`: no limit)."""
    collision_strategy: str = "ENQUEUE"
    """At the limit, a run due to start waits (`ENQUEUE`) or is cancelled (`CANCEL_NEW`)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """One schedule of a deployment: when runs of it are made, and with what."""

    deployment: str
    """The deployment's full name."""
    slug: str
    """The schedule's name within its deployment (`schedule-1`, ... unless given)."""
    schedule: str
    """The schedule as `tarry.schedules.to_json` stores it."""
    created_at: float
    """When it was first stored."""
    updated_at: float
    """When it last changed."""
    active: bool = True
    """Whether runs are made for it (`False`: paused)."""
    parameters: str = "{}"
    """JSON of parameters over the deployment's defaults, for its runs."""
    missed: str = "latest"
    """What happens to slots that passed while no scheduler ran: `latest`, `all` or `skip`."""
    made_until: float | None = None
    """Slots up to this instant are made (or passed over); `None`: none yet."""


@dataclasses.dataclass(frozen=True, slots=True)
class SlotRecord:
    """A run made ahead for a slot of a schedule; one per `(deployment, slot_at)`."""

    deployment: str
    """The deployment's full name."""
    slot_at: float
    """When the run is due."""
    slug: str
    """The schedule that made it."""
    run_id: str
    """The Scheduled run."""
    released: bool = False
    """Whether it was made Pending (or dropped) at its time."""


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
    name: str | None = None
    """Only runs with this name (names are not unique)."""
    deployment: str | None = None
    """Only runs started from this deployment."""
    parent_id: str | Unset | None = UNSET
    """Only children of this run; `None` for top-level runs only."""
    limit: int = 50
    """At most this many."""
    offset: int = 0
    """Skip this many."""


@dataclasses.dataclass(frozen=True, slots=True)
class WorkPoolRecord:
    """A pool of workers: the runs of its queues go to the workers that serve it."""

    name: str
    """Unique name."""
    created_at: float
    """When it was made."""
    updated_at: float
    """When it last changed."""
    description: str = ""
    """What it is for."""
    concurrency_limit: int | None = None
    """The most runs of all its queues that hold a slot at once (`None`: no limit)."""
    paused: bool = False
    """A paused pool's workers start none of its Pending runs."""


@dataclasses.dataclass(frozen=True, slots=True)
class WorkQueueRecord:
    """A queue of a pool: its Pending runs start before those of lower-priority queues."""

    pool: str
    """The pool it belongs to."""
    name: str
    """Its name, unique in its pool."""
    created_at: float
    """When it was made."""
    updated_at: float
    """When it last changed."""
    priority: int = 1
    """Lower runs first; queues of equal priority go by name."""
    description: str = ""
    """What it is for."""
    concurrency_limit: int | None = None
    """The most of its runs that hold a slot at once (`None`: no limit)."""
    paused: bool = False
    """A paused queue's Pending runs wait until it is resumed."""


@dataclasses.dataclass(frozen=True, slots=True)
class QueueCounts:
    """How many runs of a queue wait, and how many hold one of its slots."""

    pending: int = 0
    """Pending top-level runs."""
    busy: int = 0
    """Leased Running or Waiting top-level runs: those a concurrency limit counts."""


@dataclasses.dataclass(frozen=True, slots=True)
class CacheEntry:
    """A task result cached across runs under its cache key (`@task(cache_policy=...)`)."""

    key: str
    """The cache key: a policy's digest, or what a `cache_key_fn` returned."""
    task_name: str
    """The task that stored it."""
    result: str
    """JSON of the result, as the journal stores it."""
    created_at: float
    """When it was stored."""
    expires_at: float | None = None
    """When it stops being used (`None`: never)."""
    run_id: str | None = None
    """The run whose step stored it."""
    step_key: str | None = None
    """That step's journal key."""
