"""The REST API's bodies for work pools and queues (re-exported by `tarry.web.schemas`).

The bounds are those `tarry.pool_service` and `tarry.work_pools` apply, said in the
OpenAPI document: a value out of them is a 422 before anything is looked up.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic

from tarry import boundary, pool_service, work_pools
from tarry.storage import records

__all__ = [
    "NAME_PATTERN",
    "WorkPoolIn",
    "WorkPoolOut",
    "WorkPoolUpdate",
    "WorkQueueIn",
    "WorkQueueOut",
    "WorkQueueUpdate",
]

NAME_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"
"""A pool or queue name: 1 to 100 letters, digits, `-`, `_` or `.`."""

_TEXT = r"^[^\x00]*$"
_MAX_DESCRIPTION = 10_000

#: A count in a body: JSON's `true` is refused, not read as 1.
_NOT_BOOL = pydantic.BeforeValidator(boundary.refuse_bool)
Limit = Annotated[int, pydantic.Field(ge=0, le=pool_service.MAX_LIMIT), _NOT_BOOL]
Priority = Annotated[int, pydantic.Field(ge=1, le=pool_service.MAX_PRIORITY), _NOT_BOOL]


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def _name(what: str) -> Any:
    return pydantic.Field(pattern=NAME_PATTERN, description=f"The {what}'s name.")


def _limit() -> Any:
    return pydantic.Field(
        None,
        description="The most runs that hold a slot at once; `null`: no limit.",
    )


def _description(default: str | None) -> Any:
    return pydantic.Field(
        default, max_length=_MAX_DESCRIPTION, pattern=_TEXT, description="What it is for."
    )


def _priority() -> Any:
    return pydantic.Field(
        None,
        description="Lower runs first; when omitted, one after the pool's other queues.",
    )


class WorkQueueOut(pydantic.BaseModel):
    """A queue of a work pool, with how many of its runs wait and hold a slot."""

    work_pool_name: str = pydantic.Field(description="The pool it belongs to.")
    name: str
    priority: int = pydantic.Field(description="Lower runs first.")
    concurrency_limit: int | None = pydantic.Field(description="`null`: no limit.")
    description: str
    paused: bool = pydantic.Field(description="A paused queue starts none of its runs.")
    pending: int = pydantic.Field(description="Its Pending runs.")
    busy: int = pydantic.Field(description="Its runs that hold a slot (Running, or Waiting held).")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, status: pool_service.QueueStatus) -> WorkQueueOut:
        """From a queue and its counts."""
        return cls.of_queue(status.queue, status.counts)

    @classmethod
    def of_queue(cls, queue: records.WorkQueueRecord, counts: records.QueueCounts) -> WorkQueueOut:
        """From a stored queue and its counts."""
        return cls(
            work_pool_name=queue.pool,
            name=queue.name,
            priority=queue.priority,
            concurrency_limit=queue.concurrency_limit,
            description=queue.description,
            paused=queue.paused,
            pending=counts.pending,
            busy=counts.busy,
            created_at=_at(queue.created_at),
            updated_at=_at(queue.updated_at),
        )


class WorkPoolOut(pydantic.BaseModel):
    """A work pool: its queues, and how many runs wait and hold a slot over all of them."""

    name: str
    description: str
    concurrency_limit: int | None = pydantic.Field(
        description="The most runs of all its queues that hold a slot at once; `null`: no limit."
    )
    paused: bool = pydantic.Field(description="A paused pool starts none of its runs.")
    pending: int = pydantic.Field(description="Pending runs over all its queues.")
    busy: int = pydantic.Field(description="Runs that hold a slot over all its queues.")
    queues: list[WorkQueueOut] = pydantic.Field(description="By priority, then name.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, status: work_pools.WorkPoolStatus) -> WorkPoolOut:
        """From a pool with its queues and their counts."""
        pool = status.pool
        return cls(
            name=pool.name,
            description=pool.description,
            concurrency_limit=pool.concurrency_limit,
            paused=pool.paused,
            pending=status.pending,
            busy=status.busy,
            queues=[WorkQueueOut.of_queue(q, status.of(q.name)) for q in status.queues],
            created_at=_at(pool.created_at),
            updated_at=_at(pool.updated_at),
        )


class WorkPoolIn(pydantic.BaseModel):
    """A work pool to make; it gets a `default` queue."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = _name("pool")
    description: str = _description("")
    concurrency_limit: Limit | None = _limit()
    paused: bool = False


class WorkPoolUpdate(pydantic.BaseModel):
    """A change to a work pool: fields left out stay; `concurrency_limit: null` removes it."""

    model_config = pydantic.ConfigDict(extra="forbid")

    description: str | None = _description(None)
    concurrency_limit: Limit | None = _limit()
    paused: bool | None = None

    def limit_change(self) -> int | records.Unset | None:
        """The new limit: `UNSET` when the body leaves it out, `None` when it clears it."""
        return (
            self.concurrency_limit
            if "concurrency_limit" in self.model_fields_set
            else records.UNSET
        )


class WorkQueueIn(pydantic.BaseModel):
    """A queue to make in a pool."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = _name("queue")
    priority: Priority | None = _priority()
    concurrency_limit: Limit | None = _limit()
    description: str = _description("")
    paused: bool = False


class WorkQueueUpdate(pydantic.BaseModel):
    """A change to a queue: fields left out stay; `concurrency_limit: null` removes it."""

    model_config = pydantic.ConfigDict(extra="forbid")

    priority: Priority | None = _priority()
    concurrency_limit: Limit | None = _limit()
    description: str | None = _description(None)
    paused: bool | None = None

    def limit_change(self) -> int | records.Unset | None:
        """The new limit: `UNSET` when the body leaves it out, `None` when it clears it."""
        return (
            self.concurrency_limit
            if "concurrency_limit" in self.model_fields_set
            else records.UNSET
        )
