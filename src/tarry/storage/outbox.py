"""The outbox: notifications and mail waiting to leave, kept in the store.

A flow queues what it sends in the same store as its journal, keyed so that a
replay queues nothing twice; a dispatcher in some process claims due items for a
short while, sends them and settles each as sent, retried later, or failed. A
process that dies holding a claim only delays its items until the claim runs out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tarry.states import DeliveryStatus

__all__ = [
    "OutboxItem",
    "Settlement",
    "item_from_row",
    "item_params",
    "settle_params",
    "settled",
]


@dataclasses.dataclass(frozen=True)
class OutboxItem:
    """One notification or mail to send."""

    key: str
    """Unique per item, so queueing it again (on replay) does nothing."""
    run_id: str
    """The run it belongs to; failures are logged there."""
    channel: str
    """`email` or `webhook`."""
    payload: str
    """The rendered message, JSON; only the channel's sender reads it."""
    created_at: float
    due_at: float
    """When it may be sent (again)."""
    wait_id: str | None = None
    """The wait it announces, if any: it is skipped once the wait is closed."""
    recipients: str = ""
    """Whom it goes to, comma-separated (mail addresses, or the webhook's URL)."""
    id: int | None = None
    """Given by the store."""
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    """Attempts made so far."""
    last_error: str = ""
    sent_at: float | None = None
    """When it was sent, skipped or given up."""

    @property
    def recipient_list(self) -> list[str]:
        """`recipients` as a list."""
        return [part for part in self.recipients.split(",") if part]


@dataclasses.dataclass(frozen=True)
class Settlement:
    """How one attempt at sending an item ended."""

    status: DeliveryStatus
    """`SENT`, `SKIPPED`, `FAILED` (for good), or `PENDING` to try again at `retry_at`."""
    at: float
    error: str = ""
    retry_at: float | None = None


def settled(item: OutboxItem, outcome: Settlement) -> OutboxItem:
    """`item` after `outcome`: what every adapter stores."""
    attempted = outcome.status is not DeliveryStatus.SKIPPED
    return dataclasses.replace(
        item,
        status=outcome.status,
        attempts=item.attempts + int(attempted),
        last_error=outcome.error,
        due_at=outcome.retry_at if outcome.retry_at is not None else item.due_at,
        sent_at=None if outcome.status is DeliveryStatus.PENDING else outcome.at,
    )


def item_params(item: OutboxItem) -> dict[str, Any]:
    """Query parameters that queue `item` (the named query `queue_outbox`)."""
    return {
        "key": item.key,
        "run_id": item.run_id,
        "wait_id": item.wait_id,
        "channel": item.channel,
        "recipients": item.recipients,
        "payload": item.payload,
        "created_at": item.created_at,
        "due_at": item.due_at,
    }


def item_from_row(row: Any) -> OutboxItem:
    """The item an `outbox` row holds (any row that reads by column name)."""
    return OutboxItem(
        key=row["key"],
        run_id=row["run_id"],
        channel=row["channel"],
        payload=row["payload"],
        created_at=row["created_at"],
        due_at=row["due_at"],
        wait_id=row["wait_id"],
        recipients=row["recipients"],
        id=row["id"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
    )


def settle_params(item_id: int, outcome: Settlement) -> dict[str, Any]:
    """Query parameters of the named query `settle_outbox`."""
    pending = outcome.status is DeliveryStatus.PENDING
    return {
        "id": item_id,
        "status": outcome.status.value,
        "attempted": int(outcome.status is not DeliveryStatus.SKIPPED),
        "error": outcome.error,
        "retry_at": outcome.retry_at,
        "sent_at": None if pending else outcome.at,
    }
