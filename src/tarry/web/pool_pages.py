"""The work pool pages: every pool with its queues, one pool, and their buttons.

A pool shows whether it is paused, its concurrency limit, the slots its runs hold
(busy) out of that limit and how many runs wait (Pending); each of its queues shows
the same with its priority. Pools and queues are paused and resumed with a button,
and their concurrency limit is set or cleared with a small form.

A limit is checked here before anything changes: a whole number of at least 0, or
empty to remove it. A refused one shows the page again (422) with the reason next to
the field and the value as typed; nothing is changed. An unknown pool or queue is a
404 page.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from tarry import boundary, errors, host, work_pools
from tarry.storage import records
from tarry.web import auth, login, pages

__all__ = [
    "MAX_LIMIT",
    "NamePart",
    "Refused",
    "change_pool",
    "change_queue",
    "parse_limit",
    "router",
    "work_pool_page",
    "work_pools_page",
]

MAX_LIMIT = 1_000_000
"""The largest concurrency limit the form takes: far above any real fleet, and well
inside the 32-bit integer column that PostgreSQL keeps it in."""

_ACTIONS = ("pause", "resume", "limit")
_LIMIT_FIELD = "concurrency_limit"
# How many deployments the pool page reads to find the pool's own (the store lists
# deployments by name only).
_DEPLOYMENT_SCAN = 1000

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

NamePart = Annotated[str, PathParam(min_length=1, max_length=200)]
"""A pool's or queue's name in a page's path."""


@dataclasses.dataclass(frozen=True)
class Refused:
    """A concurrency limit the form refused, shown next to its field."""

    pool: str
    """The pool whose form (or whose queue's form) was sent."""
    queue: str | None
    """The queue, or `None` for the pool's own limit."""
    value: str
    """What was typed, shown again."""
    message: str
    """Why it was refused."""

    def on(self, pool: str, queue: str | None = None) -> bool:
        """Whether this refusal belongs to the form of `pool` (and `queue`).

        Args:
            pool: The pool of the form being drawn.
            queue: Its queue, or `None` for the pool's own form.
        """
        return (self.pool, self.queue) == (pool, queue)


def parse_limit(text: str) -> int | None:
    """A concurrency limit as typed: a whole number from 0 to `MAX_LIMIT`, or empty for none.

    Args:
        text: The field's text.

    Raises:
        ValueError: It is not such a number; the message says what is expected.
    """
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise ValueError("Enter a whole number of at least 0, or leave it empty for no limit.")
    value = int(text)
    if value > MAX_LIMIT:
        raise ValueError(f"Enter at most {MAX_LIMIT:,}, or leave it empty for no limit.")
    return value


@router.get("/work-pools")
async def work_pools_page(request: Request) -> Response:
    """Every work pool, by name, with its queues, their counts and their buttons."""
    return await _list_page(request)


@router.get("/work-pools/{pool}")
async def work_pool_page(request: Request, pool: NamePart) -> Response:
    """One work pool: its queues with their counts and buttons, and its deployments."""
    return await _pool_page(request, pool)


@router.post("/work-pools/{pool}/{action}")
async def change_pool(request: Request, pool: NamePart, action: NamePart) -> Response:
    """Pause or resume the pool, or set or clear its concurrency limit."""
    return await _change(request, pool, None, action)


@router.post("/work-pools/{pool}/queues/{queue}/{action}")
async def change_queue(
    request: Request, pool: NamePart, queue: NamePart, action: NamePart
) -> Response:
    """Pause or resume one queue of the pool, or set or clear its concurrency limit."""
    return await _change(request, pool, queue, action)


# -- pages ---------------------------------------------------------------------------


async def _list_page(request: Request, refused: Refused | None = None) -> Response:
    hst = pages.host_of(request)
    statuses = await run_in_threadpool(_statuses, hst)
    context = {
        "section": "work-pools",
        "statuses": statuses,
        "refused": refused,
        "back": "list",
        "max_limit": MAX_LIMIT,
    }
    return pages.render(request, "work_pools.html", context, status=422 if refused else 200)


async def _pool_page(request: Request, pool: str, refused: Refused | None = None) -> Response:
    hst = pages.host_of(request)
    status = await run_in_threadpool(_status, hst, pool)
    found = await run_in_threadpool(_deployments_of, hst, pool)
    context = {
        "section": "work-pools",
        "status": status,
        "deployments": found,
        "refused": refused,
        "back": "pool",
        "max_limit": MAX_LIMIT,
    }
    return pages.render(request, "work_pool.html", context, status=422 if refused else 200)


def _statuses(hst: host.Host) -> list[work_pools.WorkPoolStatus]:
    return [work_pools.pool_status(p.name, hst=hst) for p in work_pools.list_work_pools(hst=hst)]


def _status(hst: host.Host, pool: str) -> work_pools.WorkPoolStatus:
    if not boundary.may_exist(pool):
        raise errors.WorkPoolNotFound(pool)
    return work_pools.pool_status(pool, hst=hst)


def _deployments_of(hst: host.Host, pool: str) -> list[records.DeploymentRecord]:
    found = hst.store.list_deployments(limit=_DEPLOYMENT_SCAN)
    return [d for d in found if d.work_pool == pool]


# -- actions -------------------------------------------------------------------------


async def _change(request: Request, pool: str, queue: str | None, action: str) -> Response:
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    if action not in _ACTIONS:
        return pages.error_page(request, 404, f"no work pool action {action!r}")
    hst = pages.host_of(request)
    await run_in_threadpool(_check_exists, hst, pool, queue)
    back = pages.form_text(form, "back")
    try:
        done = await run_in_threadpool(_apply, hst, pool, queue, action, form)
    except (ValueError, errors.WorkPoolRefused) as exc:
        typed = pages.form_text(form, _LIMIT_FIELD) or ""
        refused = Refused(pool, queue, typed, str(exc))
        if back == "list":
            return await _list_page(request, refused)
        return await _pool_page(request, pool, refused)
    return pages.redirect(_back_url(back, pool), pages.Flash("ok", done))


def _check_exists(hst: host.Host, pool: str, queue: str | None) -> None:
    """Raise the 404 for an unknown pool or queue before any value is looked at."""
    if not boundary.may_exist(pool):
        raise errors.WorkPoolNotFound(pool)
    if queue is None:
        work_pools.get_work_pool(pool, hst=hst)
    elif not boundary.may_exist(queue):
        raise errors.WorkQueueNotFound(pool, queue)
    else:
        work_pools.get_work_queue(queue, pool, hst=hst)


def _apply(hst: host.Host, pool: str, queue: str | None, action: str, form: FormData) -> str:
    """Make the change; returns what was done, in words, for the flash message."""
    what = f"Work pool {pool}" if queue is None else f"Queue {queue} of work pool {pool}"
    changes: dict[str, Any]
    if action == "limit":
        limit = parse_limit(pages.form_text(form, _LIMIT_FIELD) or "")
        changes = {"concurrency_limit": limit}
        done = (
            "has no concurrency limit" if limit is None else f"has a concurrency limit of {limit}"
        )
    else:
        changes = {"paused": action == "pause"}
        done = (
            "paused: its Pending runs wait until it is resumed; runs in progress go on"
            if action == "pause"
            else "resumed"
        )
    if queue is None:
        work_pools.update_work_pool(pool, hst=hst, **changes)
    else:
        work_pools.update_work_queue(queue, pool, hst=hst, **changes)
    return f"{what} {done}."


def _back_url(back: str | None, pool: str) -> str:
    # Only the two pages that hold these forms: a form never sends anyone elsewhere.
    if back == "list":
        return f"/work-pools#pool-{pages.url_quote(pool)}"
    return f"/work-pools/{pages.url_quote(pool)}"
