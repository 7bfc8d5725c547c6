"""The REST API's request and response bodies (pydantic models, shown in OpenAPI).

Stored JSON (parameters, results, answers) is passed through as JSON values;
times are ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Generic, TypeVar

import pydantic

from tarry import errors, schedules, serialization, service, states
from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus
from tarry.storage import records
from tarry.web.limit_schemas import (
    ConcurrencyLimitIn,
    ConcurrencyLimitOut,
    ConcurrencyLimitUpdate,
    SlotHolderOut,
)
from tarry.web.pool_schemas import (
    WorkPoolIn,
    WorkPoolOut,
    WorkPoolUpdate,
    WorkQueueIn,
    WorkQueueOut,
    WorkQueueUpdate,
)

__all__ = [
    "AnswerIn",
    "AnswerOut",
    "ConcurrencyLimitIn",
    "ConcurrencyLimitOut",
    "ConcurrencyLimitUpdate",
    "DeploymentOut",
    "ErrorOut",
    "FieldErrorOut",
    "InputOut",
    "LogOut",
    "MessageOut",
    "Page",
    "ResumeIn",
    "RunDetailOut",
    "RunOut",
    "ScheduleActiveIn",
    "ScheduleOut",
    "SendIn",
    "SlotHolderOut",
    "StartRunIn",
    "StepOut",
    "TransitionOut",
    "UpcomingRunOut",
    "WorkPoolIn",
    "WorkPoolOut",
    "WorkPoolUpdate",
    "WorkQueueIn",
    "WorkQueueOut",
    "WorkQueueUpdate",
]


T = TypeVar("T")

# -- what the boundary refuses, said in the OpenAPI document ---------------------------------
# `tarry.boundary` checks these in `tarry.service`, where every interface passes, so
# the models only document them (`json_schema_extra`): the boundary's 422 names the
# field the same way for the API, the forms, the CLI and mail replies.

NO_NUL = r"^[^\x00]*$"
"""Text without a NUL character (PostgreSQL cannot store one)."""

TEXT: dict[str, Any] = {"pattern": NO_NUL}
"""The JSON Schema of a text field: no NUL character."""

STORABLE = "StorableJson"
"""The component that describes the JSON values tarry stores (answers, messages, parameters)."""

_STORABLE_REF: dict[str, Any] = {"$ref": f"#/components/schemas/{STORABLE}"}


def storable_json(max_field_chars: int) -> dict[str, Any]:
    """The JSON Schema of a value `tarry.boundary` lets through (depth and size aside).

    Args:
        max_field_chars: The longest string it may hold (`Settings.max_field_chars`).
    """
    text = {"type": "string", "pattern": NO_NUL, "maxLength": max_field_chars}
    return {
        "description": "Any JSON without NUL characters; numbers are finite. Lists and "
        "objects nest at most `TARRY_MAX_JSON_DEPTH` levels (64).",
        "anyOf": [
            text,
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": _STORABLE_REF},
            {"type": "object", "propertyNames": text, "additionalProperties": _STORABLE_REF},
        ],
    }


def _storable(**field: Any) -> Any:
    # `allOf`: pydantic would look a bare `$ref` up among its own definitions.
    return pydantic.Field(json_schema_extra={"allOf": [_STORABLE_REF]}, **field)


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def _time(ts: float | None) -> dt.datetime | None:
    return None if ts is None else _at(ts)


def _json(text: str | None) -> Any:
    # Plain JSON: tarry's type tags (and the server's file paths in them) stay inside.
    return None if text is None else serialization.plain(json.loads(text))


class FieldErrorOut(pydantic.BaseModel):
    """What is wrong with one field of a request or an answer."""

    loc: list[str | int] = pydantic.Field(description="Where: field names and list indexes.")
    msg: str = pydantic.Field(description="What is wrong, in words.")
    type: str = pydantic.Field("value_error", description="A stable name for the kind of error.")

    @classmethod
    def of(cls, error: errors.FieldError) -> FieldErrorOut:
        """From tarry's field error."""
        return cls(loc=list(error.loc), msg=error.message, type=error.type)


class ErrorOut(pydantic.BaseModel):
    """Every error response: a reason, and field errors for invalid input."""

    detail: str = pydantic.Field(description="What went wrong, in one sentence.")
    code: str = pydantic.Field(description="A stable name for the kind of error.")
    errors: list[FieldErrorOut] = pydantic.Field(
        default_factory=list, description="Field errors (422 only)."
    )


class RunOut(pydantic.BaseModel):
    """A flow run."""

    id: str
    name: str
    flow_name: str
    entrypoint: str
    state: RunState
    state_name: str = pydantic.Field(
        "",
        description="The state's name as Prefect shows it: a Waiting run is `Paused` while a "
        "process holds it in memory and `Suspended` once it left memory; otherwise `state` "
        "(empty from a server older than this field).",
    )
    state_reason: str
    parameters: Any = pydantic.Field(description="Parameters by name (JSON).")
    result: Any = pydantic.Field(None, description="Return value once Completed (JSON).")
    error: Any = pydantic.Field(None, description="The error once Failed or Crashed.")
    parent_id: str | None
    attempt: int
    tags: list[str]
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    duration_s: float | None = pydantic.Field(description="From start to end (or to now).")
    deployment: str | None = pydantic.Field(
        None, description="The deployment it was started from, if any."
    )
    work_pool: str = pydantic.Field("default", description="The work pool whose workers run it.")
    work_queue: str = pydantic.Field("default", description="The queue of that pool it waits in.")

    @classmethod
    def of(cls, run: records.RunRecord, now: float | None = None) -> RunOut:
        """From a stored run."""
        return cls(
            id=run.id,
            name=run.name,
            flow_name=run.flow_name,
            entrypoint=run.entrypoint,
            state=run.state,
            state_name=states.shown_name(run.state, in_memory=run.lease_owner is not None),
            state_reason=run.state_reason,
            parameters=_json(run.parameters),
            result=_json(run.result),
            error=_json(run.error),
            parent_id=run.parent_id,
            attempt=run.attempt,
            tags=list(run.tags),
            created_at=_at(run.created_at),
            started_at=_time(run.started_at),
            ended_at=_time(run.ended_at),
            duration_s=duration(run, now),
            deployment=run.deployment,
            work_pool=run.work_pool,
            work_queue=run.work_queue,
        )


def duration(run: records.RunRecord, now: float | None = None) -> float | None:
    """Seconds from start to end, or to `now` for a run that has not ended."""
    if run.started_at is None:
        return None
    end = run.ended_at if run.ended_at is not None else now
    return None if end is None else round(max(0.0, end - run.started_at), 3)


class StepOut(pydantic.BaseModel):
    """One journal entry of a run: a task call, a child run, a wait or a recorded value."""

    key: str
    name: str
    kind: StepKind
    status: StepStatus
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_s: float
    attempts: int
    result: Any = None
    error: Any = None
    child_run_id: str | None = None
    cached_from: str | None = None
    """The task-cache key whose stored result the step returned without calling its task."""

    @classmethod
    def of(cls, step: records.StepRecord) -> StepOut:
        """From a stored journal entry."""
        return cls(
            key=step.key,
            name=step.name,
            kind=step.kind,
            status=step.status,
            started_at=_at(step.started_at),
            ended_at=_at(step.ended_at),
            duration_s=round(max(0.0, step.ended_at - step.started_at), 6),
            attempts=step.attempts,
            result=_json(step.result),
            error=_json(step.error),
            child_run_id=step.child_run_id,
            cached_from=step.cached_from,
        )


class LogOut(pydantic.BaseModel):
    """One log line of a run."""

    at: dt.datetime
    level: int
    message: str
    step_key: str | None
    logger: str

    @classmethod
    def of(cls, line: records.LogRecord) -> LogOut:
        """From a stored log line."""
        return cls(
            at=_at(line.at),
            level=line.level,
            message=line.message,
            step_key=line.step_key,
            logger=line.logger,
        )


class TransitionOut(pydantic.BaseModel):
    """One state change of a run."""

    from_state: RunState | None
    to_state: RunState
    at: dt.datetime
    reason: str

    @classmethod
    def of(cls, change: records.TransitionRecord) -> TransitionOut:
        """From a stored state change."""
        return cls(
            from_state=change.from_state,
            to_state=change.to_state,
            at=_at(change.at),
            reason=change.reason,
        )


class InputOut(pydantic.BaseModel):
    """A wait of a run: for an input wait, the form it asks for and, once closed, the answer."""

    id: str
    run_id: str
    run_name: str | None = None
    flow_name: str | None = None
    name: str
    label: str
    kind: WaitKind
    status: WaitStatus
    created_at: dt.datetime
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    responder: str | None
    channel: str | None
    prompt: str | None
    answer: Any = None
    description: str | None = pydantic.Field(None, description="Markdown shown above the form.")
    schema_: dict[str, Any] | None = pydantic.Field(
        None, alias="schema", description="JSON Schema of the answer."
    )
    initial: dict[str, Any] = pydantic.Field(default_factory=dict)

    model_config = pydantic.ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @classmethod
    def of(cls, wait: records.WaitRecord, run: records.RunRecord | None = None) -> InputOut:
        """From a stored wait (and its run)."""
        spec = json.loads(wait.spec) if wait.spec else {}
        return cls(
            id=wait.id,
            run_id=wait.run_id,
            run_name=run.name if run else None,
            flow_name=run.flow_name if run else None,
            name=wait.name,
            label=wait.label,
            kind=wait.kind,
            status=wait.status,
            created_at=_at(wait.created_at),
            deadline=_time(wait.deadline),
            closed_at=_time(wait.closed_at),
            responder=wait.responder,
            channel=wait.channel,
            prompt=wait.prompt,
            answer=_json(wait.answer),
            description=spec.get("description"),
            schema=spec.get("schema"),
            initial=spec.get("initial") or {},
        )

    @classmethod
    def of_item(cls, item: service.InboxItem) -> InputOut:
        """From an inbox item."""
        return cls.of(item.wait, item.run)


class RunDetailOut(pydantic.BaseModel):
    """A run with its journal, state changes, waits, child runs and first log lines."""

    run: RunOut
    steps: list[StepOut]
    transitions: list[TransitionOut]
    waits: list[InputOut]
    children: list[RunOut]
    logs: list[LogOut]

    @classmethod
    def of(cls, detail: service.RunDetail, now: float) -> RunDetailOut:
        """From the service's run detail."""
        return cls(
            run=RunOut.of(detail.run, now),
            steps=[StepOut.of(s) for s in detail.steps],
            transitions=[TransitionOut.of(t) for t in detail.transitions],
            waits=[InputOut.of(w, detail.run) for w in detail.waits],
            children=[RunOut.of(c, now) for c in detail.children],
            logs=[LogOut.of(line) for line in detail.logs],
        )


class DeploymentOut(pydantic.BaseModel):
    """A flow registered by name: runs of it can be started by that name."""

    name: str
    flow_name: str
    entrypoint: str
    description: str
    parameters: Any = pydantic.Field(description="Default parameters (JSON).")
    parameter_schema: dict[str, Any]
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    work_pool: str = pydantic.Field("default", description="The work pool of its runs.")
    work_queue: str = pydantic.Field("default", description="The queue of that pool.")
    concurrency_limit: int | None = pydantic.Field(
        None, description="The most of its runs that hold a slot at once; `null`: no limit."
    )
    collision_strategy: str = pydantic.Field(
        "ENQUEUE",
        description="A run due beyond the limit waits (`ENQUEUE`) or is cancelled (`CANCEL_NEW`).",
    )

    @classmethod
    def of(cls, deployment: records.DeploymentRecord) -> DeploymentOut:
        """From a stored deployment."""
        return cls(
            name=deployment.name,
            flow_name=deployment.flow_name,
            entrypoint=deployment.entrypoint,
            description=deployment.description,
            parameters=json.loads(deployment.parameters),
            parameter_schema=json.loads(deployment.parameter_schema),
            tags=list(deployment.tags),
            created_at=_at(deployment.created_at),
            updated_at=_at(deployment.updated_at),
            work_pool=deployment.work_pool,
            work_queue=deployment.work_queue,
            concurrency_limit=deployment.concurrency_limit,
            collision_strategy=deployment.collision_strategy,
        )


class ScheduleOut(pydantic.BaseModel):
    """One schedule of a deployment."""

    deployment: str
    slug: str = pydantic.Field(description="Its name within the deployment, `schedule-1`, ...")
    schedule: dict[str, Any] = pydantic.Field(
        description="When it is due: `cron`, `interval` (seconds) with `anchor_date`, or "
        "`rrule`; with `timezone` (IANA, `null` for UTC)."
    )
    description: str = pydantic.Field(description="The same in words.")
    active: bool = pydantic.Field(description="`false` while paused.")
    parameters: Any = pydantic.Field(description="Parameters over the deployment's defaults.")
    missed: str = pydantic.Field(
        description="What becomes of slots missed while no scheduler ran: "
        "`latest`, `all` or `skip`."
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, schedule: records.ScheduleRecord) -> ScheduleOut:
        """From a stored schedule."""
        return cls(
            deployment=schedule.deployment,
            slug=schedule.slug,
            schedule=json.loads(schedule.schedule),
            description=schedules.describe(schedules.from_json(schedule.schedule)),
            active=schedule.active,
            parameters=_json(schedule.parameters),
            missed=schedule.missed,
            created_at=_at(schedule.created_at),
            updated_at=_at(schedule.updated_at),
        )


class ScheduleActiveIn(pydantic.BaseModel):
    """Pause (`active: false`) or resume (`active: true`) a schedule."""

    model_config = pydantic.ConfigDict(extra="forbid")

    active: bool


class UpcomingRunOut(pydantic.BaseModel):
    """A run made ahead by a schedule, and when it is due."""

    scheduled_for: dt.datetime = pydantic.Field(description="When it becomes Pending.")
    slug: str = pydantic.Field(description="The schedule that made it.")
    run: RunOut

    @classmethod
    def of(cls, slot: records.SlotRecord, run: records.RunRecord) -> UpcomingRunOut:
        """From a slot and its run."""
        return cls(scheduled_for=_at(slot.slot_at), slug=slot.slug, run=RunOut.of(run))


class MessageOut(pydantic.BaseModel):
    """A message sent to a run."""

    id: int | None
    run_id: str = pydantic.Field(description="The run it was sent to.")
    key: str
    value: Any = pydantic.Field(description="What was sent (JSON).")
    sent_at: dt.datetime
    sender: str | None
    sender_run_id: str | None
    reply_to: str | None
    status: str = pydantic.Field(description="`pending` until the run receives it, `received`.")
    received_at: dt.datetime | None
    received_step_key: str | None

    @classmethod
    def of(cls, message: records.MessageRecord) -> MessageOut:
        """From a stored message."""
        return cls(
            id=message.id,
            run_id=message.run_id,
            key=message.key,
            value=_json(message.data),
            sent_at=_at(message.sent_at),
            sender=message.sender,
            sender_run_id=message.sender_run_id,
            reply_to=message.reply_to,
            status=message.status,
            received_at=_time(message.received_at),
            received_step_key=message.received_step_key,
        )


class SendIn(pydantic.BaseModel):
    """A message to send to a run."""

    value: Any = _storable(description="What to send (JSON).")
    key: str | None = pydantic.Field(
        None,
        min_length=1,
        max_length=200,
        description="Unique per run; sent once.",
        json_schema_extra=TEXT,
    )
    sender: str | None = pydantic.Field(
        None, max_length=200, description="Who sends it.", json_schema_extra=TEXT
    )


class Page(pydantic.BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = pydantic.Field(description="Offset of the next page, if any.")


class StartRunIn(pydantic.BaseModel):
    """Start a run of a deployment."""

    deployment: str = pydantic.Field(description="Deployment name, `flow-name/deployment`.")
    parameters: dict[str, Any] = pydantic.Field(
        default_factory=dict,
        description="Parameters by name (JSON).",
        json_schema_extra={"propertyNames": TEXT, "additionalProperties": _STORABLE_REF},
    )


class AnswerIn(pydantic.BaseModel):
    """An answer to an input wait."""

    input: Any = _storable(
        default=None,
        description="The answer: an object of fields, a bare value for a plain-type input, "
        "or null to accept the form's initial data.",
    )
    responder: str | None = pydantic.Field(
        None, max_length=200, description="Who answers.", json_schema_extra=TEXT
    )


class ResumeIn(AnswerIn):
    """Resume a paused run: answer the wait it is on (or the one named by `key`)."""

    key: str | None = pydantic.Field(
        None, max_length=200, description="The wait's name.", json_schema_extra=TEXT
    )


class AnswerOut(pydantic.BaseModel):
    """What happened to an answer."""

    accepted: bool = pydantic.Field(description="True: it closed the wait.")
    wait: InputOut | None = pydantic.Field(description="The wait it answered.")
    kept_for_later: bool = pydantic.Field(
        description="True: the run has not reached this wait; the answer waits for it."
    )
