"""`tarry work-pool ...` and `tarry work-queue ...`: make, list, pause and limit pools and queues.

A worker serves one pool (`tarry worker --pool P [--queue Q ...]`); it starts the
Pending runs of its queues by queue priority (lower first), then age, within the
concurrency limits of the pool, the queues and the deployments. A paused pool or
queue starts none of its Pending runs; runs in progress go on. See docs/work-pools.md.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import typer
from rich.table import Table

from tarry import pool_service, work_pools
from tarry.cli.output import AS_JSON, Yes, confirm_delete, fail, out, print_json
from tarry.cli.output import call as _call
from tarry.cli.output import said as _said
from tarry.storage import records
from tarry.web import schemas

__all__ = ["pool_app", "queue_app"]

pool_app = typer.Typer(
    help="Make, list, pause and limit work pools (workers serve one).", no_args_is_help=True
)
queue_app = typer.Typer(
    help="Make, list, pause, order and limit the queues of a work pool.", no_args_is_help=True
)

T = TypeVar("T")

# `set-concurrency-limit etl -1` reaches the command, which refuses it in one line,
# instead of failing as an unknown option `-1`.
_NUMBER_ARGS = {"ignore_unknown_options": True}

PoolName = Annotated[str, typer.Argument(help="The work pool's name")]
QueueName = Annotated[str, typer.Argument(help="The work queue's name")]
PoolOption = Annotated[str, typer.Option("--pool", "-p", help="The work pool of the queue")]
Description = Annotated[str | None, typer.Option(help="What it is for")]
Limit = Annotated[
    int | None, typer.Option("--concurrency-limit", help="The most runs that hold a slot at once")
]
QueueLimit = Annotated[
    int | None,
    typer.Option("--limit", "-l", help="The most of its runs that hold a slot at once"),
]
Priority = Annotated[
    int | None,
    typer.Option(help="Lower runs first (at least 1); one after the pool's others by default"),
]
LimitArg = Annotated[int, typer.Argument(help="The most runs that hold a slot at once")]


def _limit_text(limit: int | None) -> str:
    return "none" if limit is None else str(limit)


def _paused_text(paused: bool) -> str:
    return "paused" if paused else "running"


# -- work pools -------------------------------------------------------------------------------


@pool_app.command("create")
def pool_create(
    name: PoolName,
    concurrency_limit: Limit = None,
    description: Annotated[str, typer.Option(help="What it is for")] = "",
    paused: Annotated[bool, typer.Option("--paused", help="Make it paused")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a pool of this name (keeping its queues)")
    ] = False,
) -> None:
    """Make a work pool, with its `default` queue."""
    made = _call(
        lambda: pool_service.create_work_pool(
            name,
            description=description,
            concurrency_limit=concurrency_limit,
            paused=paused,
            overwrite=overwrite,
        )
    )
    pool = made.pool
    _said(
        f"created work pool {pool.name} ({_paused_text(pool.paused)}, "
        f"concurrency limit {_limit_text(pool.concurrency_limit)})"
    )


@pool_app.command("ls")
def pool_ls(as_json: Annotated[bool, AS_JSON] = False) -> None:
    """List work pools, by name, with how many runs wait and hold a slot."""
    found = pool_service.list_work_pools()
    if as_json:
        print_json([schemas.WorkPoolOut.of(status) for status in found])
        return
    table = Table("name", "paused", "limit", "busy", "pending", "queues")
    for status in found:
        pool = status.pool
        table.add_row(
            pool.name,
            "yes" if pool.paused else "no",
            _limit_text(pool.concurrency_limit),
            str(status.busy),
            str(status.pending),
            str(len(status.queues)),
        )
    out.print(table)


@pool_app.command("inspect")
def pool_inspect(name: PoolName, as_json: Annotated[bool, AS_JSON] = False) -> None:
    """Show a work pool and its queues, each with its priority, limit and counts."""
    status = _call(lambda: pool_service.get_work_pool(name))
    if as_json:
        print_json(schemas.WorkPoolOut.of(status))
        return
    pool = status.pool
    _said(
        f"work pool {pool.name}: {_paused_text(pool.paused)}, concurrency limit "
        f"{_limit_text(pool.concurrency_limit)}, {status.busy} busy, {status.pending} pending"
    )
    if pool.description:
        _said(pool.description)
    _queue_table([pool_service.QueueStatus(q, status.of(q.name)) for q in status.queues])


@pool_app.command("pause")
def pool_pause(name: PoolName) -> None:
    """Pause a work pool: its workers start none of its Pending runs; runs in progress go on."""
    _call(lambda: pool_service.update_work_pool(name, paused=True))
    _said(f"paused work pool {name}")


@pool_app.command("resume")
def pool_resume(name: PoolName) -> None:
    """Resume a paused work pool."""
    _call(lambda: pool_service.update_work_pool(name, paused=False))
    _said(f"resumed work pool {name}")


@pool_app.command("set-concurrency-limit", context_settings=_NUMBER_ARGS)
def pool_set_limit(name: PoolName, limit: LimitArg) -> None:
    """Limit the runs of all the pool's queues that hold a slot at once."""
    _call(lambda: pool_service.update_work_pool(name, concurrency_limit=limit))
    _said(f"work pool {name}: concurrency limit {limit}")


@pool_app.command("clear-concurrency-limit")
def pool_clear_limit(name: PoolName) -> None:
    """Remove a work pool's concurrency limit."""
    _call(lambda: pool_service.update_work_pool(name, concurrency_limit=None))
    _said(f"work pool {name}: concurrency limit none")


@pool_app.command("update")
def pool_update(
    name: PoolName, description: Description = None, concurrency_limit: Limit = None
) -> None:
    """Change a work pool's description or concurrency limit."""
    if description is None and concurrency_limit is None:
        raise fail("nothing to change: give --description or --concurrency-limit")
    limit: int | records.Unset = records.UNSET if concurrency_limit is None else concurrency_limit
    _call(
        lambda: pool_service.update_work_pool(
            name, description=description, concurrency_limit=limit
        )
    )
    _said(f"updated work pool {name}")


@pool_app.command("delete")
def pool_delete(name: PoolName, yes: Yes = False) -> None:
    """Delete a work pool and its queues; its runs stay, for a pool of that name to run them."""
    confirm_delete(f"Delete the work pool {name} and its queues?", yes)
    _call(lambda: pool_service.delete_work_pool(name))
    _said(f"deleted work pool {name}")


# -- work queues ------------------------------------------------------------------------------


def _queue_table(found: list[pool_service.QueueStatus], *, pools: bool = False) -> None:
    headers = ("pool",) if pools else ()
    table = Table(*headers, "name", "priority", "limit", "paused", "pending", "busy")
    for status in found:
        queue = status.queue
        table.add_row(
            *((queue.pool,) if pools else ()),
            queue.name,
            str(queue.priority),
            _limit_text(queue.concurrency_limit),
            "yes" if queue.paused else "no",
            str(status.counts.pending),
            str(status.counts.busy),
        )
    out.print(table)


def _queue_words(name: str, pool: str) -> str:
    return f"work queue {name} of pool {pool}"


@queue_app.command("create")
def queue_create(
    name: QueueName,
    pool: PoolOption = work_pools.DEFAULT_POOL,
    priority: Priority = None,
    limit: QueueLimit = None,
    description: Annotated[str, typer.Option(help="What it is for")] = "",
) -> None:
    """Make a queue in a work pool."""
    made = _call(
        lambda: pool_service.create_work_queue(
            name, pool, priority=priority, concurrency_limit=limit, description=description
        )
    ).queue
    _said(
        f"created {_queue_words(made.name, made.pool)} (priority {made.priority}, "
        f"concurrency limit {_limit_text(made.concurrency_limit)})"
    )


@queue_app.command("ls")
def queue_ls(
    pool: Annotated[
        str | None, typer.Option("--pool", "-p", help="Only this pool's queues")
    ] = None,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List work queues by pool, priority and name, with how many runs wait and hold a slot."""
    found = _call(lambda: pool_service.list_work_queues(pool))
    if as_json:
        print_json([schemas.WorkQueueOut.of(status) for status in found])
        return
    _queue_table(found, pools=pool is None)


@queue_app.command("inspect")
def queue_inspect(
    name: QueueName,
    pool: PoolOption = work_pools.DEFAULT_POOL,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Show a work queue: its priority, limit, and how many runs wait and hold a slot."""
    status = _call(lambda: pool_service.get_work_queue(name, pool))
    if as_json:
        print_json(schemas.WorkQueueOut.of(status))
        return
    queue, counts = status.queue, status.counts
    _said(
        f"{_queue_words(queue.name, queue.pool)}: {_paused_text(queue.paused)}, priority "
        f"{queue.priority}, concurrency limit {_limit_text(queue.concurrency_limit)}, "
        f"{counts.busy} busy, {counts.pending} pending"
    )
    if queue.description:
        _said(queue.description)


@queue_app.command("pause")
def queue_pause(name: QueueName, pool: PoolOption = work_pools.DEFAULT_POOL) -> None:
    """Pause a work queue: its Pending runs wait until it is resumed."""
    _call(lambda: pool_service.update_work_queue(name, pool, paused=True))
    _said(f"paused {_queue_words(name, pool)}")


@queue_app.command("resume")
def queue_resume(name: QueueName, pool: PoolOption = work_pools.DEFAULT_POOL) -> None:
    """Resume a paused work queue."""
    _call(lambda: pool_service.update_work_queue(name, pool, paused=False))
    _said(f"resumed {_queue_words(name, pool)}")


@queue_app.command("set-concurrency-limit", context_settings=_NUMBER_ARGS)
def queue_set_limit(
    name: QueueName, limit: LimitArg, pool: PoolOption = work_pools.DEFAULT_POOL
) -> None:
    """Limit the queue's runs that hold a slot at once."""
    _call(lambda: pool_service.update_work_queue(name, pool, concurrency_limit=limit))
    _said(f"{_queue_words(name, pool)}: concurrency limit {limit}")


@queue_app.command("clear-concurrency-limit")
def queue_clear_limit(name: QueueName, pool: PoolOption = work_pools.DEFAULT_POOL) -> None:
    """Remove a work queue's concurrency limit."""
    _call(lambda: pool_service.update_work_queue(name, pool, concurrency_limit=None))
    _said(f"{_queue_words(name, pool)}: concurrency limit none")


@queue_app.command("update")
def queue_update(
    name: QueueName,
    pool: PoolOption = work_pools.DEFAULT_POOL,
    priority: Annotated[int | None, typer.Option(help="Lower runs first (at least 1)")] = None,
    limit: QueueLimit = None,
    description: Description = None,
) -> None:
    """Change a work queue's priority, concurrency limit or description."""
    if priority is None and limit is None and description is None:
        raise fail("nothing to change: give --priority, --limit or --description")
    changed_limit: int | records.Unset = records.UNSET if limit is None else limit
    _call(
        lambda: pool_service.update_work_queue(
            name, pool, priority=priority, concurrency_limit=changed_limit, description=description
        )
    )
    _said(f"updated {_queue_words(name, pool)}")


@queue_app.command("delete")
def queue_delete(
    name: QueueName, pool: PoolOption = work_pools.DEFAULT_POOL, yes: Yes = False
) -> None:
    """Delete a work queue; its Pending runs stay, for a queue of that name to run them."""
    confirm_delete(f"Delete the {_queue_words(name, pool)}?", yes)
    _call(lambda: pool_service.delete_work_queue(name, pool))
    _said(f"deleted {_queue_words(name, pool)}")
