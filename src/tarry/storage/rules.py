"""The pure rules every store adapter applies: state changes, closing waits, messages.

How a change applies to a run (`change_allowed`, `apply_change`) and which
changes closing a wait makes (`closed_by`, `wait_closed`, `run_to_wake`, ...),
so that every adapter changes runs the same way and only stores the outcome.

How a message meets a receive: a MESSAGE wait stores which messages it takes
(`message_filter`: a key prefix, or the topics of its type); a message that
passes it (`message_matches`) closes the wait with one journal entry
(`message_close`) holding the message and its metadata (`message_value`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from typing import Any

from tarry import states
from tarry.states import RunState, StepKind, StepStatus, WaitStatus
from tarry.storage import records

__all__ = [
    "apply_change",
    "cancel_change",
    "change_allowed",
    "closed_by",
    "message_close",
    "message_filter",
    "message_matches",
    "message_value",
    "resumed_change",
    "run_to_wake",
    "step_order",
    "suspend_change",
    "wait_closed",
    "wait_entry",
    "woken_root_change",
]


def change_allowed(
    run: records.RunRecord | None, expected: Collection[RunState], change: records.StateChange
) -> bool:
    """Whether `Store.transition` applies `change` to `run` (its preconditions hold)."""
    if run is None or run.state not in expected:
        return False
    return change.require_owner is None or run.lease_owner == change.require_owner


def closed_by(wait: records.WaitRecord, close: records.WaitClose) -> records.WaitRecord:
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


def suspend_change(owner: str, at: float, reason: str) -> records.StateChange:
    """Waiting with the lease released, for runs `owner` holds that leave memory."""
    return records.StateChange(
        RunState.WAITING,
        at=at,
        reason=reason,
        lease_owner=None,
        lease_expires_at=None,
        require_owner=owner,
    )


def wait_closed(
    wait: records.WaitRecord, close: records.WaitClose, woken_root: records.RunRecord | None
) -> records.WaitClosed:
    """What a won `close` did, given the suspended top-level run it moved on (as it is now)."""
    closed = closed_by(wait, close)
    if woken_root is None:
        return records.WaitClosed(won=True, wait=closed)
    if woken_root.state is RunState.PENDING:
        return records.WaitClosed(won=True, wait=closed, ready_run_id=woken_root.id)
    return records.WaitClosed(won=True, wait=closed, resumed_run=woken_root)


def wait_entry(wait: records.WaitRecord, result: str, at: float) -> records.StepRecord:
    """The journal entry a closed wait becomes, holding `result` (JSON of its outcome)."""
    return records.StepRecord(
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


def woken_root_change(close: records.WaitClose) -> records.StateChange:
    """How a suspended top-level run leaves Waiting when `close` ends its wait."""
    if close.resume_as is not None:
        return close.resume_as
    return records.StateChange(RunState.PENDING, at=close.at, reason=close.reason)


def run_to_wake(
    runs: Mapping[str, records.RunRecord], run_id: str
) -> tuple[records.RunRecord, bool] | None:
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


def cancel_change(at: float, reason: str) -> records.StateChange:
    """Cancelled, from any unfinished state, whoever holds the lease."""
    return records.StateChange(RunState.CANCELLED, at=at, reason=reason)


def resumed_change(close: records.WaitClose) -> records.StateChange:
    """Back to Running, for a resident run whose wait `close` ends (its lease stays)."""
    return records.StateChange(RunState.RUNNING, at=close.at, reason=close.reason)


def apply_change(run: records.RunRecord, change: records.StateChange) -> records.RunRecord:
    """The run as it is after `change`: the pure core of every adapter's `transition`.

    Raises:
        errors.InvalidTransition: `states.TRANSITIONS` does not allow the change.
    """
    states.check_transition(run.id, run.state, change.to_state)
    fields = {
        name: value
        for name in ("result", "error", "lease_owner", "lease_expires_at", "attempt")
        if not isinstance(value := getattr(change, name), records.Unset)
    }
    if change.to_state.is_final:
        fields.update(ended_at=change.at, lease_owner=None, lease_expires_at=None)
    elif run.state.is_final:  # retried: the run has not ended any more
        fields["ended_at"] = None
    if change.to_state is RunState.RUNNING and run.started_at is None:
        fields["started_at"] = change.at
    return dataclasses.replace(run, state=change.to_state, state_reason=change.reason, **fields)


def step_order(key: str) -> tuple[int, ...]:
    """Sort key that puts journal key `"10"` after `"9"` and `"3.1"` after `"3"`."""
    return tuple(int(part) for part in key.split("."))


# -- messages ------------------------------------------------------------------------------


def message_filter(
    key_prefix: str | None,
    exclude_keys: Collection[str] = (),
    topics: Collection[str] | None = None,
    *,
    keep: bool = False,
) -> str:
    """The `spec` of a MESSAGE wait: which messages it takes (see `message_matches`).

    Args:
        key_prefix: Only messages whose key (or topic) starts with this.
        exclude_keys: Keys of messages it leaves for another receive.
        topics: Without `key_prefix`, the topics of the messages it takes (those of
            its type); `None` takes messages of any topic.
        keep: Read the message without taking it: it stays pending for the next
            receive (Prefect's reading, `receive_input(..., consume=False)`).
    """
    rule: dict[str, Any] = {"key_prefix": key_prefix, "exclude_keys": sorted(exclude_keys)}
    if topics is not None and key_prefix is None:
        rule["topics"] = sorted(topics)
    if keep:
        rule["keep"] = True
    return json.dumps(rule)


def message_matches(wait: records.WaitRecord, message: records.MessageRecord) -> bool:
    """Whether a MESSAGE wait takes this message (pure).

    A receive with a key prefix takes the messages whose key or topic starts with
    it; one without takes the messages of its topics. A message with no topic
    (sent from the API, CLI or UI, or stored before messages had one) and a
    receive stored without topics match as they always did: by key prefix only.
    """
    rule = json.loads(wait.spec or "{}")
    if message.key in set(rule.get("exclude_keys") or ()):
        return False
    prefix = rule.get("key_prefix")
    if prefix:
        return message.key.startswith(prefix) or (message.topic or "").startswith(prefix)
    topics = rule.get("topics")
    return topics is None or message.topic is None or message.topic in topics


def message_value(message: records.MessageRecord) -> dict[str, Any]:
    """A received message as the journal holds it: its data and metadata."""
    return {
        "key": message.key,
        "data": json.loads(message.data),
        "sent_at": message.sent_at,
        "sender_run_id": message.sender_run_id,
        "sender": message.sender,
        "reply_to": message.reply_to,
    }


def message_close(
    wait: records.WaitRecord,
    message: records.MessageRecord,
    at: float,
    resume_as: records.StateChange | None = None,
) -> records.WaitClose:
    """Closing a MESSAGE wait with a message: the journal entry it becomes (pure).

    The message is taken (marked received) unless the wait only reads (`keep`).
    """
    result = {"alt": wait.alt, "value": message_value(message), "given": False}
    keep = bool(json.loads(wait.spec or "{}").get("keep"))
    step = wait_entry(wait, json.dumps(result, separators=(",", ":")), at)
    return records.WaitClose(
        wait_id=wait.id,
        status=WaitStatus.ANSWERED,
        at=at,
        step=step,
        answer=message.data,
        responder=message.sender or message.sender_run_id,
        channel="message",
        reason=f"message {message.key!r} received",
        resume_as=resume_as,
        message_id=None if keep else message.id,
    )
