"""How a message meets a receive: the pure rules every store adapter applies.

A MESSAGE wait stores which messages it takes (`message_filter`); a message that
passes it (`message_matches`) closes the wait with one journal entry
(`message_close`) holding the message and its metadata (`message_value`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from tarry.states import WaitStatus
from tarry.storage.base import MessageRecord, StateChange, WaitClose, WaitRecord, wait_entry

__all__ = ["message_close", "message_filter", "message_matches", "message_value"]


def message_filter(key_prefix: str | None, exclude_keys: Collection[str] = ()) -> str:
    """The `spec` of a MESSAGE wait: which messages it takes."""
    return json.dumps({"key_prefix": key_prefix, "exclude_keys": sorted(exclude_keys)})


def message_matches(wait: WaitRecord, message: MessageRecord) -> bool:
    """Whether a MESSAGE wait takes this message (pure)."""
    rule = json.loads(wait.spec or "{}")
    prefix = rule.get("key_prefix")
    if prefix and not message.key.startswith(prefix):
        return False
    return message.key not in set(rule.get("exclude_keys") or ())


def message_value(message: MessageRecord) -> dict[str, Any]:
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
    wait: WaitRecord, message: MessageRecord, at: float, resume_as: StateChange | None = None
) -> WaitClose:
    """Closing a MESSAGE wait with a message: the journal entry it becomes (pure)."""
    result = {"alt": wait.alt, "value": message_value(message), "given": False}
    step = wait_entry(wait, json.dumps(result, separators=(",", ":")), at)
    return WaitClose(
        wait_id=wait.id,
        status=WaitStatus.ANSWERED,
        at=at,
        step=step,
        answer=message.data,
        responder=message.sender or message.sender_run_id,
        channel="message",
        reason=f"message {message.key!r} received",
        resume_as=resume_as,
        message_id=message.id,
    )
