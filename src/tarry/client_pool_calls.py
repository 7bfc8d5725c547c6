"""The pure core of the clients' work pool and queue methods: the calls they send.

As in `tarry.client_calls`, no I/O here: each `*_call` function builds the `Call`
that `tarry.client_pools` sends from `Client` and from `AsyncClient`, and a 404
names the pool or the queue the call is about.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from tarry import _lazy
from tarry.client_calls import Call
from tarry.storage import records

if TYPE_CHECKING:
    from tarry.web import schemas
else:
    # The API models cost about 10 ms to import: the client pays on first use.
    schemas = _lazy.Lazy("tarry.web.schemas")

__all__ = [
    "changes",
    "create_work_pool_call",
    "create_work_queue_call",
    "delete_work_pool_call",
    "delete_work_queue_call",
    "update_work_pool_call",
    "update_work_queue_call",
    "work_pool_call",
    "work_pools_call",
    "work_queue_call",
    "work_queues_call",
]


def changes(**fields: Any) -> dict[str, Any]:
    """A PATCH body of the fields given: `None` leaves a field out, except a limit.

    A `concurrency_limit` of `None` is sent (it removes the limit); `records.UNSET`
    leaves it out.
    """
    limit = fields.pop("concurrency_limit", records.UNSET)
    body = {name: value for name, value in fields.items() if value is not None}
    if not isinstance(limit, records.Unset):
        body["concurrency_limit"] = limit
    return body


def _pool_path(name: str, rest: str = "") -> str:
    return f"work-pools/{urllib.parse.quote(name, safe='')}{rest}"


def _queue_path(name: str, pool: str) -> str:
    return _pool_path(pool, f"/queues/{urllib.parse.quote(name, safe='')}")


def _pool(body: Any) -> schemas.WorkPoolOut:
    return schemas.WorkPoolOut.model_validate(body)


def _pools(body: Any) -> list[schemas.WorkPoolOut]:
    return [schemas.WorkPoolOut.model_validate(item) for item in body]


def _queue(body: Any) -> schemas.WorkQueueOut:
    return schemas.WorkQueueOut.model_validate(body)


def _queues(body: Any) -> list[schemas.WorkQueueOut]:
    return [schemas.WorkQueueOut.model_validate(item) for item in body]


def _queues_of_pools(body: Any) -> list[schemas.WorkQueueOut]:
    return [queue for pool in _pools(body) for queue in pool.queues]


def _nothing(_body: Any) -> None:
    return None


def work_pools_call() -> Call[list[schemas.WorkPoolOut]]:
    """The call of `Client.read_work_pools`."""
    return Call("GET", "work-pools", _pools)


def work_pool_call(name: str) -> Call[schemas.WorkPoolOut]:
    """The call of `Client.read_work_pool`."""
    return Call("GET", _pool_path(name), _pool, subject="work_pool", subject_id=name)


def create_work_pool_call(
    name: str, description: str, concurrency_limit: int | None, paused: bool
) -> Call[schemas.WorkPoolOut]:
    """The call of `Client.create_work_pool`."""
    body = {
        "name": name,
        "description": description,
        "concurrency_limit": concurrency_limit,
        "paused": paused,
    }
    return Call("POST", "work-pools", _pool, body=body, subject="work_pool", subject_id=name)


def update_work_pool_call(name: str, body: dict[str, Any]) -> Call[schemas.WorkPoolOut]:
    """The call of `Client.update_work_pool` (and its pause and resume), `body` from `changes`."""
    path = _pool_path(name)
    return Call("PATCH", path, _pool, body=body, subject="work_pool", subject_id=name)


def delete_work_pool_call(name: str) -> Call[None]:
    """The call of `Client.delete_work_pool`."""
    return Call("DELETE", _pool_path(name), _nothing, subject="work_pool", subject_id=name)


def work_queues_call(pool: str | None) -> Call[list[schemas.WorkQueueOut]]:
    """The call of `Client.read_work_queues`: one pool's, or (`None`) every pool's."""
    if pool is None:
        # Every pool comes with its queues: one request reads them all.
        return Call("GET", "work-pools", _queues_of_pools)
    path = _pool_path(pool, "/queues")
    return Call("GET", path, _queues, subject="work_pool", subject_id=pool)


def work_queue_call(name: str, pool: str) -> Call[schemas.WorkQueueOut]:
    """The call of `Client.read_work_queue`."""
    path = _queue_path(name, pool)
    return Call("GET", path, _queue, subject="work_queue", subject_id=pool, subject_name=name)


def create_work_queue_call(
    name: str,
    pool: str,
    *,
    priority: int | None,
    concurrency_limit: int | None,
    description: str,
    paused: bool,
) -> Call[schemas.WorkQueueOut]:
    """The call of `Client.create_work_queue`."""
    body = {
        "name": name,
        "priority": priority,
        "concurrency_limit": concurrency_limit,
        "description": description,
        "paused": paused,
    }
    path = _pool_path(pool, "/queues")
    return Call("POST", path, _queue, body=body, subject="work_pool", subject_id=pool)


def update_work_queue_call(
    name: str, pool: str, body: dict[str, Any]
) -> Call[schemas.WorkQueueOut]:
    """The call of `Client.update_work_queue` (and its pause and resume), `body` from `changes`."""
    path = _queue_path(name, pool)
    return Call(
        "PATCH", path, _queue, body=body, subject="work_queue", subject_id=pool, subject_name=name
    )


def delete_work_queue_call(name: str, pool: str) -> Call[None]:
    """The call of `Client.delete_work_queue`."""
    path = _queue_path(name, pool)
    return Call("DELETE", path, _nothing, subject="work_queue", subject_id=pool, subject_name=name)
