"""Work pools and queues: where runs wait for a worker, in what order, and how many at once.

Every run belongs to a queue of a pool: its deployment's (`work_pool_name=`,
`work_queue_name=`), or the `default` queue of the `default` pool. A worker serves
one pool (`tarry worker --pool P [--queue Q ...]`) and claims the Pending runs of
its queues by queue priority (lower first), then age, within three limits:

* a queue's `concurrency_limit`,
* the pool's `concurrency_limit`, over all its queues,
* a deployment's `concurrency_limit` (its `collision_strategy` says whether a run
  beyond it waits, `ENQUEUE`, or is cancelled, `CANCEL_NEW`).

A slot is held by a run a process holds: Running, or Waiting in memory (a resident
wait, such as `pause_flow_run`). A run suspended on its wait (`suspend_flow_run`, or
any wait once it leaves memory) holds none: a queue never sits full of runs that
wait for a person. A paused pool or queue starts none of its Pending runs; runs in
progress go on. See docs/work-pools.md.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from enum import StrEnum

from tarry import errors, event_service, host
from tarry.storage import claiming, records

__all__ = [
    "DEFAULT_POOL",
    "DEFAULT_QUEUE",
    "MAX_LIMIT",
    "MAX_PRIORITY",
    "ConcurrencyLimitConfig",
    "ConcurrencyLimitStrategy",
    "WorkPoolStatus",
    "create_work_pool",
    "create_work_queue",
    "delete_work_pool",
    "delete_work_queue",
    "deployment_limit",
    "ensure_work_queue",
    "get_work_pool",
    "get_work_queue",
    "list_work_pools",
    "list_work_queues",
    "pool_status",
    "update_work_pool",
    "update_work_queue",
]

logger = logging.getLogger("tarry.work_pools")

DEFAULT_POOL = records.DEFAULT_POOL
DEFAULT_QUEUE = records.DEFAULT_QUEUE
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_MAX_NAME = 100
# Stored as 32-bit integers (PostgreSQL INTEGER): anything larger is refused, not a 500.
MAX_LIMIT = 2**31 - 1
# Far below MAX_LIMIT, so a new queue's "one after the others" priority still fits.
MAX_PRIORITY = 1_000_000


class ConcurrencyLimitStrategy(StrEnum):
    """What happens to a deployment's run due to start when the deployment is at its limit."""

    #: It stays Pending until a run of the deployment ends or suspends.
    ENQUEUE = claiming.ENQUEUE
    #: It is Cancelled, with the reason in its history.
    CANCEL_NEW = claiming.CANCEL_NEW


@dataclasses.dataclass(frozen=True)
class ConcurrencyLimitConfig:
    """A deployment's concurrency limit with its collision strategy (Prefect's name).

    Attributes:
        limit: The most runs of the deployment that hold a slot at once.
        collision_strategy: `ENQUEUE` (wait) or `CANCEL_NEW` (cancel the new run).
    """

    limit: int
    collision_strategy: ConcurrencyLimitStrategy | str = ConcurrencyLimitStrategy.ENQUEUE


@dataclasses.dataclass(frozen=True)
class WorkPoolStatus:
    """A pool, its queues and how many runs each holds and has waiting."""

    pool: records.WorkPoolRecord
    queues: list[records.WorkQueueRecord]
    counts: dict[str, records.QueueCounts]

    @property
    def busy(self) -> int:
        """Slots held over all the pool's queues."""
        return sum(c.busy for c in self.counts.values())

    @property
    def pending(self) -> int:
        """Pending runs over all the pool's queues."""
        return sum(c.pending for c in self.counts.values())

    def of(self, queue: str) -> records.QueueCounts:
        """The counts of one queue (zeros when it has no runs)."""
        return self.counts.get(queue, records.QueueCounts())


def deployment_limit(
    limit: int | ConcurrencyLimitConfig | None, strategy: str | None = None
) -> tuple[int | None, str]:
    """A deployment's limit and strategy from `concurrency_limit=` (an int or a config).

    Raises:
        errors.WorkPoolRefused: The limit is not a whole number of at least 1, or the
            strategy is not `ENQUEUE` or `CANCEL_NEW`.
    """
    if isinstance(limit, ConcurrencyLimitConfig):
        strategy = str(limit.collision_strategy)
        limit = limit.limit
    chosen = str(strategy or claiming.ENQUEUE).upper()
    if chosen not in claiming.COLLISION_STRATEGIES:
        raise errors.WorkPoolRefused(
            f"collision_strategy must be ENQUEUE or CANCEL_NEW, not {strategy!r}"
        )
    return _limit("concurrency_limit", limit, least=1), chosen


def create_work_pool(
    name: str,
    *,
    description: str = "",
    concurrency_limit: int | None = None,
    paused: bool = False,
    overwrite: bool = False,
    hst: host.Host | None = None,
) -> records.WorkPoolRecord:
    """Make a pool, with its `default` queue.

    Raises:
        errors.WorkPoolRefused: The name or limit is not valid, or the pool exists
            and `overwrite` is not set.
    """
    hst = hst or host.get_host()
    _check_name("work pool", name)
    found = hst.store.get_work_pool(name)
    if found is not None and not overwrite:
        raise errors.WorkPoolRefused(
            f"work pool {name!r} exists already; change it with `tarry work-pool update {name}`"
        )
    now = time.time()
    pool = records.WorkPoolRecord(
        name,
        found.created_at if found else now,
        now,
        description,
        _limit("concurrency_limit", concurrency_limit),
        paused,
    )
    stored = hst.store.put_work_pool(pool)
    _announce_pool(hst, name, "updated" if found else "created")
    return stored


def update_work_pool(
    name: str,
    *,
    description: str | None = None,
    concurrency_limit: int | records.Unset | None = records.UNSET,
    paused: bool | None = None,
    hst: host.Host | None = None,
) -> records.WorkPoolRecord:
    """Change a pool: what is not given stays (`concurrency_limit=None` removes the limit).

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
        errors.WorkPoolRefused: The limit is not a whole number from 0 to `MAX_LIMIT`.
    """
    hst = hst or host.get_host()
    pool = get_work_pool(name, hst=hst)
    changed = dataclasses.replace(
        pool,
        updated_at=time.time(),
        description=pool.description if description is None else description,
        paused=pool.paused if paused is None else paused,
        concurrency_limit=(
            pool.concurrency_limit
            if isinstance(concurrency_limit, records.Unset)
            else _limit("concurrency_limit", concurrency_limit)
        ),
    )
    stored = hst.store.put_work_pool(changed)
    if stored.paused != pool.paused:
        _announce_pool(hst, name, "paused" if stored.paused else "resumed")
    return stored


def get_work_pool(name: str, *, hst: host.Host | None = None) -> records.WorkPoolRecord:
    """The pool with this name.

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
    """
    found = (hst or host.get_host()).store.get_work_pool(name)
    if found is None:
        raise errors.WorkPoolNotFound(name)
    return found


def list_work_pools(*, hst: host.Host | None = None) -> list[records.WorkPoolRecord]:
    """Every pool, by name."""
    return (hst or host.get_host()).store.list_work_pools()


def delete_work_pool(name: str, *, hst: host.Host | None = None) -> None:
    """Delete a pool and its queues; its runs stay, to wait for a pool of that name.

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
        errors.WorkPoolRefused: It is the default pool.
    """
    if name == DEFAULT_POOL:
        raise errors.WorkPoolRefused("the default work pool cannot be deleted; pause it instead")
    hst = hst or host.get_host()
    if not hst.store.delete_work_pool(name):
        raise errors.WorkPoolNotFound(name)
    _announce_pool(hst, name, "deleted")


def create_work_queue(
    name: str,
    pool: str = DEFAULT_POOL,
    *,
    priority: int | None = None,
    concurrency_limit: int | None = None,
    description: str = "",
    paused: bool = False,
    hst: host.Host | None = None,
) -> records.WorkQueueRecord:
    """Make a queue in an existing pool; without `priority`, it comes after the pool's others.

    Raises:
        errors.WorkPoolNotFound: The pool does not exist.
        errors.WorkPoolRefused: The queue exists, or a value is not valid.
    """
    hst = hst or host.get_host()
    _check_name("work queue", name)
    get_work_pool(pool, hst=hst)
    if hst.store.get_work_queue(pool, name) is not None:
        raise errors.WorkPoolRefused(f"work pool {pool!r} has a queue named {name!r} already")
    others = hst.store.list_work_queues(pool)
    chosen = priority if priority is not None else max((q.priority for q in others), default=0) + 1
    now = time.time()
    queue = records.WorkQueueRecord(
        pool,
        name,
        now,
        now,
        _priority(chosen),
        description,
        _limit("concurrency_limit", concurrency_limit),
        paused,
    )
    stored = hst.store.put_work_queue(queue)
    _announce_queue(hst, pool, name, "created")
    return stored


def update_work_queue(
    name: str,
    pool: str = DEFAULT_POOL,
    *,
    priority: int | None = None,
    concurrency_limit: int | records.Unset | None = records.UNSET,
    description: str | None = None,
    paused: bool | None = None,
    hst: host.Host | None = None,
) -> records.WorkQueueRecord:
    """Change a queue: what is not given stays (`concurrency_limit=None` removes the limit).

    Raises:
        errors.WorkQueueNotFound: The pool has no queue of this name.
        errors.WorkPoolRefused: A value is not valid.
    """
    hst = hst or host.get_host()
    queue = get_work_queue(name, pool, hst=hst)
    changed = dataclasses.replace(
        queue,
        updated_at=time.time(),
        priority=queue.priority if priority is None else _priority(priority),
        description=queue.description if description is None else description,
        paused=queue.paused if paused is None else paused,
        concurrency_limit=(
            queue.concurrency_limit
            if isinstance(concurrency_limit, records.Unset)
            else _limit("concurrency_limit", concurrency_limit)
        ),
    )
    stored = hst.store.put_work_queue(changed)
    if stored.paused != queue.paused:
        _announce_queue(hst, pool, name, "paused" if stored.paused else "resumed")
    return stored


def get_work_queue(
    name: str, pool: str = DEFAULT_POOL, *, hst: host.Host | None = None
) -> records.WorkQueueRecord:
    """The queue `name` of `pool`.

    Raises:
        errors.WorkPoolNotFound: The pool does not exist.
        errors.WorkQueueNotFound: The pool has no queue of this name.
    """
    hst = hst or host.get_host()
    found = hst.store.get_work_queue(pool, name)
    if found is None:
        get_work_pool(pool, hst=hst)
        raise errors.WorkQueueNotFound(pool, name)
    return found


def list_work_queues(
    pool: str | None = None, *, hst: host.Host | None = None
) -> list[records.WorkQueueRecord]:
    """The queues of `pool` (of every pool when `None`), by pool, priority and name.

    Raises:
        errors.WorkPoolNotFound: `pool` is given and does not exist.
    """
    hst = hst or host.get_host()
    if pool is not None:
        get_work_pool(pool, hst=hst)
    return hst.store.list_work_queues(pool)


def delete_work_queue(name: str, pool: str = DEFAULT_POOL, *, hst: host.Host | None = None) -> None:
    """Delete a queue; its Pending runs stay, to wait for a queue of that name.

    Raises:
        errors.WorkQueueNotFound: The pool has no queue of this name.
        errors.WorkPoolRefused: It is the pool's default queue.
    """
    if name == DEFAULT_QUEUE:
        raise errors.WorkPoolRefused("a pool's default queue cannot be deleted; pause it instead")
    hst = hst or host.get_host()
    if not hst.store.delete_work_queue(pool, name):
        get_work_pool(pool, hst=hst)
        raise errors.WorkQueueNotFound(pool, name)
    _announce_queue(hst, pool, name, "deleted")


def _announce_pool(hst: host.Host, name: str, what: str) -> None:
    resource = {"tarry.resource.id": f"tarry.work-pool.{name}", "tarry.resource.name": name}
    event_service.announce(hst, f"tarry.work-pool.{what}", resource)


def _announce_queue(hst: host.Host, pool: str, name: str, what: str) -> None:
    resource = {
        "tarry.resource.id": f"tarry.work-queue.{pool}/{name}",
        "tarry.resource.name": name,
    }
    related = [event_service.related("work-pool", pool)]
    event_service.announce(hst, f"tarry.work-queue.{what}", resource, related=related)


def ensure_work_queue(
    pool: str, queue: str = DEFAULT_QUEUE, *, hst: host.Host | None = None
) -> records.WorkQueueRecord:
    """The queue, made (with its pool) when missing: deployments and workers name them first.

    Raises:
        errors.WorkPoolRefused: A name is not valid (then nothing is made).
    """
    _check_name("work pool", pool)
    _check_name("work queue", queue)
    hst = hst or host.get_host()
    if hst.store.get_work_pool(pool) is None:
        create_work_pool(pool, overwrite=True, hst=hst)
        logger.info("made work pool %r", pool)
    found = hst.store.get_work_queue(pool, queue)
    if found is not None:
        return found
    made = create_work_queue(queue, pool, hst=hst)
    logger.info("made work queue %r in pool %r (priority %d)", queue, pool, made.priority)
    return made


def pool_status(name: str, *, hst: host.Host | None = None) -> WorkPoolStatus:
    """A pool with its queues and their counts of waiting and slot-holding runs.

    Raises:
        errors.WorkPoolNotFound: No pool has this name.
    """
    hst = hst or host.get_host()
    pool = get_work_pool(name, hst=hst)
    return WorkPoolStatus(pool, hst.store.list_work_queues(name), hst.store.queue_counts(name))


def _check_name(kind: str, name: str) -> None:
    if not name or len(name) > _MAX_NAME or not set(name) <= _NAME_CHARS:
        raise errors.WorkPoolRefused(
            f"{kind} name {name!r} is not valid: use 1 to {_MAX_NAME} letters, digits, "
            "'-', '_' or '.'"
        )


def _limit(what: str, value: object, *, least: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_LIMIT:
        raise errors.WorkPoolRefused(
            f"{what} must be a whole number from {least} to {MAX_LIMIT}, or none; got {value!r}"
        )
    return value


def _priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PRIORITY:
        raise errors.WorkPoolRefused(
            f"priority must be a whole number from 1 to {MAX_PRIORITY}; got {value!r}"
        )
    return value
