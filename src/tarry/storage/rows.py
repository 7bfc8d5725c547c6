"""Mapping between database rows and the store's records, for every SQL dialect.

Both SQL adapters store the same columns with the same meaning (JSON as text,
timestamps as floats, tags as a JSON list), so one mapping serves them. A row
is anything indexable by column name: a `sqlite3.Row` or a psycopg dict row.
Columns a record does not know (PostgreSQL's `seq`) are ignored.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Protocol

from tarry.states import RunState, StepKind, StepStatus, WaitKind, WaitStatus
from tarry.storage import records

__all__ = [
    "Row",
    "close_params",
    "deployment_from_row",
    "deployment_params",
    "early_from_row",
    "early_params",
    "log_from_row",
    "log_params",
    "message_from_row",
    "message_params",
    "run_from_row",
    "run_params",
    "step_from_row",
    "step_params",
    "transition_from_row",
    "transition_params",
    "wait_from_row",
    "wait_params",
]


class Row(Protocol):
    """A result row whose columns are read by name."""

    def __getitem__(self, key: str, /) -> Any: ...


def run_params(run: records.RunRecord) -> dict[str, Any]:
    """Query parameters of a run."""
    return {
        "id": run.id,
        "name": run.name,
        "flow_name": run.flow_name,
        "entrypoint": run.entrypoint,
        "parameters": run.parameters,
        "state": run.state.value,
        "state_reason": run.state_reason,
        "parent_id": run.parent_id,
        "parent_step_key": run.parent_step_key,
        "attempt": run.attempt,
        "result": run.result,
        "error": run.error,
        "lease_owner": run.lease_owner,
        "lease_expires_at": run.lease_expires_at,
        "tags": json.dumps(list(run.tags)),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "deployment": run.deployment,
        "work_pool": run.work_pool,
        "work_queue": run.work_queue,
    }


def run_from_row(row: Row) -> records.RunRecord:
    """The run a `runs` row holds."""
    return records.RunRecord(
        id=row["id"],
        name=row["name"],
        flow_name=row["flow_name"],
        entrypoint=row["entrypoint"],
        parameters=row["parameters"],
        state=RunState(row["state"]),
        created_at=row["created_at"],
        state_reason=row["state_reason"],
        parent_id=row["parent_id"],
        parent_step_key=row["parent_step_key"],
        attempt=row["attempt"],
        result=row["result"],
        error=row["error"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        tags=tuple(json.loads(row["tags"])),
        deployment=row["deployment"],
        work_pool=row["work_pool"],
        work_queue=row["work_queue"],
    )


def step_params(step: records.StepRecord) -> dict[str, Any]:
    """Query parameters of a journal entry."""
    return {
        "run_id": step.run_id,
        "key": step.key,
        "name": step.name,
        "kind": step.kind.value,
        "inputs_digest": step.inputs_digest,
        "status": step.status.value,
        "result": step.result,
        "error": step.error,
        "attempts": step.attempts,
        "flow_attempt": step.flow_attempt,
        "child_run_id": step.child_run_id,
        "cached_from": step.cached_from,
        "started_at": step.started_at,
        "ended_at": step.ended_at,
    }


def step_from_row(row: Row) -> records.StepRecord:
    """The journal entry a `steps` row holds."""
    return records.StepRecord(
        run_id=row["run_id"],
        key=row["key"],
        name=row["name"],
        kind=StepKind(row["kind"]),
        inputs_digest=row["inputs_digest"],
        status=StepStatus(row["status"]),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        result=row["result"],
        error=row["error"],
        attempts=row["attempts"],
        flow_attempt=row["flow_attempt"],
        child_run_id=row["child_run_id"],
        cached_from=row["cached_from"],
    )


def wait_params(wait: records.WaitRecord) -> dict[str, Any]:
    """Query parameters of a wait."""
    return {
        "id": wait.id,
        "run_id": wait.run_id,
        "step_key": wait.step_key,
        "attempt": wait.attempt,
        "alt": wait.alt,
        "kind": wait.kind.value,
        "name": wait.name,
        "label": wait.label,
        "spec": wait.spec,
        "on_timeout": wait.on_timeout,
        "status": wait.status.value,
        "created_at": wait.created_at,
        "deadline": wait.deadline,
    }


def close_params(close: records.WaitClose) -> dict[str, Any]:
    """Query parameters that close a wait."""
    return {
        "id": close.wait_id,
        "status": close.status.value,
        "answer": close.answer,
        "closed_at": close.at,
        "responder": close.responder,
        "channel": close.channel,
        "prompt": close.prompt,
    }


def wait_from_row(row: Row) -> records.WaitRecord:
    """The wait a `waits` row holds."""
    return records.WaitRecord(
        id=row["id"],
        run_id=row["run_id"],
        step_key=row["step_key"],
        kind=WaitKind(row["kind"]),
        name=row["name"],
        status=WaitStatus(row["status"]),
        created_at=row["created_at"],
        alt=row["alt"],
        attempt=row["attempt"],
        label=row["label"],
        spec=row["spec"],
        on_timeout=row["on_timeout"],
        deadline=row["deadline"],
        answer=row["answer"],
        closed_at=row["closed_at"],
        responder=row["responder"],
        channel=row["channel"],
        prompt=row["prompt"],
    )


def early_params(early: records.EarlyInput) -> dict[str, Any]:
    """Query parameters that insert an early input."""
    return {
        "run_id": early.run_id,
        "name": early.name,
        "data": early.data,
        "sent_at": early.sent_at,
        "responder": early.responder,
        "channel": early.channel,
    }


def early_from_row(row: Row) -> records.EarlyInput:
    """The early input an `early_inputs` row holds."""
    return records.EarlyInput(
        run_id=row["run_id"],
        name=row["name"],
        data=row["data"],
        sent_at=row["sent_at"],
        responder=row["responder"],
        channel=row["channel"],
        status=row["status"],
        detail=row["detail"],
        id=row["id"],
    )


def log_params(log: records.LogRecord) -> dict[str, Any]:
    """Query parameters of a log line."""
    return {
        "run_id": log.run_id,
        "step_key": log.step_key,
        "at": log.at,
        "level": log.level,
        "logger": log.logger,
        "message": log.message,
    }


def log_from_row(row: Row) -> records.LogRecord:
    """The log line a `logs` row holds."""
    return records.LogRecord(
        run_id=row["run_id"],
        at=row["at"],
        level=row["level"],
        message=row["message"],
        step_key=row["step_key"],
        logger=row["logger"],
    )


def transition_params(transition: records.TransitionRecord) -> dict[str, Any]:
    """Query parameters that insert a state change."""
    from_state = transition.from_state
    return {
        "run_id": transition.run_id,
        "from_state": from_state.value if from_state else None,
        "to_state": transition.to_state.value,
        "reason": transition.reason,
        "at": transition.at,
    }


def transition_from_row(row: Row) -> records.TransitionRecord:
    """The state change a `run_transitions` row holds."""
    return records.TransitionRecord(
        run_id=row["run_id"],
        from_state=RunState(row["from_state"]) if row["from_state"] else None,
        to_state=RunState(row["to_state"]),
        at=row["at"],
        reason=row["reason"],
    )


def deployment_params(deployment: records.DeploymentRecord) -> dict[str, Any]:
    """Query parameters of a deployment."""
    fields = dataclasses.asdict(deployment)
    fields["tags"] = json.dumps(list(deployment.tags))
    return fields


def deployment_from_row(row: Row) -> records.DeploymentRecord:
    """The deployment a `deployments` row holds."""
    fields = {name: row[name] for name in _DEPLOYMENT_FIELDS}
    fields["tags"] = tuple(json.loads(row["tags"]))
    return records.DeploymentRecord(**fields)


def message_params(message: records.MessageRecord) -> dict[str, Any]:
    """Query parameters that insert a message."""
    return {
        "run_id": message.run_id,
        "key": message.key,
        "data": message.data,
        "sent_at": message.sent_at,
        "sender_run_id": message.sender_run_id,
        "sender": message.sender,
        "reply_to": message.reply_to,
        "topic": message.topic,
    }


def message_from_row(row: Row) -> records.MessageRecord:
    """The message a `messages` row holds."""
    return records.MessageRecord(**{name: row[name] for name in _MESSAGE_FIELDS})


_DEPLOYMENT_FIELDS = tuple(field.name for field in dataclasses.fields(records.DeploymentRecord))
_MESSAGE_FIELDS = tuple(field.name for field in dataclasses.fields(records.MessageRecord))
