"""Work pools and queues for the interfaces: the REST API and the CLI call these.

Like `tarry.service`, each function takes names and plain values, checks what
came from outside before any store sees it, and leaves the decisions to
`tarry.work_pools`. What it returns carries the counts a person asks about next:
a `work_pools.WorkPoolStatus` (a pool, its queues, their counts) or a
`QueueStatus` (one queue and its counts).

Checked here, on top of what `tarry.work_pools` checks:

* A name with a NUL character names nothing: looking it up is "not found".
* A description may not hold a NUL character or be over `max_field_chars`
  (`errors.ValueRefused`, 422 in the API).
* A concurrency limit is at most `MAX_LIMIT` and a priority at most
  `MAX_PRIORITY` (`errors.WorkPoolRefused`): the database holds 32-bit integers,
  and a queue made without a priority goes after the others, one higher.
"""

from __future__ import annotations

import dataclasses

from tarry import boundary, errors, host, work_pools
from tarry.storage import records

__all__ = [
    "MAX_LIMIT",
    "MAX_PRIORITY",
    "QueueStatus",
    "create_work_pool",
    "create_work_queue",
    "delete_work_pool",
    "delete_work_queue",
    "get_work_pool",
    "get_work_queue",
    "list_work_pools",
    "list_work_queues",
    "update_work_pool",
    "update_work_queue",
]

MAX_LIMIT = work_pools.MAX_LIMIT
"""The highest concurrency limit: what a database INTEGER column holds."""

MAX_PRIORITY = work_pools.MAX_PRIORITY
"""The highest queue priority, far below `MAX_LIMIT` so "one after the others" still fits."""


@dataclasses.dataclass(frozen=True)
class QueueStatus:
    """A queue and how many of its runs wait and hold a slot."""

    queue: records.WorkQueueRecord
    """The queue."""
    counts: records.QueueCounts
    """Its Pending runs and the runs that hold one of its slots."""


def _host(hst: host.Host | None) -> host.Host:
    return hst or host.get_host()


# -- pools ----------------------------------------------------------------------------------


def list_work_pools(*, hst: host.Host | None = None) -> list[work_pools.WorkPoolStatus]:
    """Every pool by name, with its queues and their counts."""
    hst = _host(hst)
    return [work_pools.pool_status(p.name, hst=hst) for p in work_pools.list_work_pools(hst=hst)]


def get_work_pool(name: str, *, hst: host.Host | None = None) -> work_pools.WorkPoolStatus:
    """One pool with its queues and their counts.

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
    """
    _known_pool(name)
    return work_pools.pool_status(name, hst=_host(hst))


def create_work_pool(
    name: str,
    *,
    description: str = "",
    concurrency_limit: int | None = None,
    paused: bool = False,
    overwrite: bool = False,
    hst: host.Host | None = None,
) -> work_pools.WorkPoolStatus:
    """Make a pool, with its `default` queue (see `work_pools.create_work_pool`).

    Raises:
        errors.ValueRefused: The description cannot be stored.
        errors.WorkPoolRefused: The name or limit is not valid, or the pool exists
            and `overwrite` is not set.
    """
    hst = _host(hst)
    boundary.check(hst.settings, description=description)
    made = work_pools.create_work_pool(
        name,
        description=description,
        concurrency_limit=concurrency_limit,
        paused=paused,
        overwrite=overwrite,
        hst=hst,
    )
    return work_pools.pool_status(made.name, hst=hst)


def update_work_pool(
    name: str,
    *,
    description: str | None = None,
    concurrency_limit: int | records.Unset | None = records.UNSET,
    paused: bool | None = None,
    hst: host.Host | None = None,
) -> work_pools.WorkPoolStatus:
    """Change a pool: what is not given stays; `concurrency_limit=None` removes the limit.

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
        errors.ValueRefused: The description cannot be stored.
        errors.WorkPoolRefused: The limit is not valid.
    """
    hst = _host(hst)
    _known_pool(name)
    boundary.check(hst.settings, description=description)
    work_pools.update_work_pool(
        name,
        description=description,
        concurrency_limit=concurrency_limit,
        paused=paused,
        hst=hst,
    )
    return work_pools.pool_status(name, hst=hst)


def delete_work_pool(name: str, *, hst: host.Host | None = None) -> None:
    """Delete a pool and its queues; its runs stay, to wait for a pool of that name.

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
        errors.WorkPoolRefused: It is the default pool.
    """
    _known_pool(name)
    work_pools.delete_work_pool(name, hst=_host(hst))


# -- queues ---------------------------------------------------------------------------------


def list_work_queues(pool: str | None = None, *, hst: host.Host | None = None) -> list[QueueStatus]:
    """The queues of `pool` (of every pool when `None`), by pool, priority and name.

    Raises:
        errors.WorkPoolNotFound: `pool` is given and does not exist.
    """
    hst = _host(hst)
    if pool is not None:
        _known_pool(pool)
    queues = work_pools.list_work_queues(pool, hst=hst)
    counts = {name: hst.store.queue_counts(name) for name in {q.pool for q in queues}}
    return [_status(q, counts[q.pool]) for q in queues]


def get_work_queue(
    name: str, pool: str = work_pools.DEFAULT_POOL, *, hst: host.Host | None = None
) -> QueueStatus:
    """The queue `name` of `pool`, with its counts.

    Raises:
        errors.WorkPoolNotFound: The pool does not exist.
        errors.WorkQueueNotFound: The pool has no queue of this name.
    """
    hst = _host(hst)
    _known_queue(pool, name)
    return _queue_status(work_pools.get_work_queue(name, pool, hst=hst), hst)


def create_work_queue(
    name: str,
    pool: str = work_pools.DEFAULT_POOL,
    *,
    priority: int | None = None,
    concurrency_limit: int | None = None,
    description: str = "",
    paused: bool = False,
    hst: host.Host | None = None,
) -> QueueStatus:
    """Make a queue in an existing pool; without `priority`, it comes after the pool's others.

    Raises:
        errors.WorkPoolNotFound: The pool does not exist.
        errors.ValueRefused: The description cannot be stored.
        errors.WorkPoolRefused: The queue exists, or a value is not valid.
    """
    hst = _host(hst)
    _known_pool(pool)
    boundary.check(hst.settings, description=description)
    made = work_pools.create_work_queue(
        name,
        pool,
        priority=priority,
        concurrency_limit=concurrency_limit,
        description=description,
        paused=paused,
        hst=hst,
    )
    return _queue_status(made, hst)


def update_work_queue(
    name: str,
    pool: str = work_pools.DEFAULT_POOL,
    *,
    priority: int | None = None,
    concurrency_limit: int | records.Unset | None = records.UNSET,
    description: str | None = None,
    paused: bool | None = None,
    hst: host.Host | None = None,
) -> QueueStatus:
    """Change a queue: what is not given stays; `concurrency_limit=None` removes the limit.

    Raises:
        errors.WorkPoolNotFound: The pool does not exist.
        errors.WorkQueueNotFound: The pool has no queue of this name.
        errors.ValueRefused: The description cannot be stored.
        errors.WorkPoolRefused: A value is not valid.
    """
    hst = _host(hst)
    _known_queue(pool, name)
    boundary.check(hst.settings, description=description)
    changed = work_pools.update_work_queue(
        name,
        pool,
        priority=priority,
        concurrency_limit=concurrency_limit,
        description=description,
        paused=paused,
        hst=hst,
    )
    return _queue_status(changed, hst)


def delete_work_queue(
    name: str, pool: str = work_pools.DEFAULT_POOL, *, hst: host.Host | None = None
) -> None:
    """Delete a queue; its Pending runs stay, to wait for a queue of that name.

    Raises:
        errors.WorkPoolNotFound: The pool does not exist.
        errors.WorkQueueNotFound: The pool has no queue of this name.
        errors.WorkPoolRefused: It is the pool's default queue.
    """
    _known_queue(pool, name)
    work_pools.delete_work_queue(name, pool, hst=_host(hst))


# -- checks ---------------------------------------------------------------------------------


def _known_pool(name: str) -> None:
    # A NUL cannot be in a stored name, and PostgreSQL refuses it even in a lookup.
    if not boundary.may_exist(name):
        raise errors.WorkPoolNotFound(name)


def _known_queue(pool: str, name: str) -> None:
    _known_pool(pool)
    if not boundary.may_exist(name):
        raise errors.WorkQueueNotFound(pool, name)


def _queue_status(queue: records.WorkQueueRecord, hst: host.Host) -> QueueStatus:
    return _status(queue, hst.store.queue_counts(queue.pool))


def _status(queue: records.WorkQueueRecord, counts: dict[str, records.QueueCounts]) -> QueueStatus:
    return QueueStatus(queue, counts.get(queue.name, records.QueueCounts()))
