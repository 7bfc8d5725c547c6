"""The Concurrency pages: every global concurrency limit and tag limit, and one limit.

The list shows, as Prefect's Concurrency page does, each global limit's name, limit,
active slots, slot decay per second and whether it is active; the limits of task
tags (named `tag:TAG`) follow in a section of their own, by tag. A limit's page
shows who holds its slots (which run or block, since when, until when its lease
holds) and has a Reset button that frees them. An unknown limit is a 404 page.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tarry import concurrency, host, limit_service
from tarry.storage import records
from tarry.web import auth, login, pages

__all__ = ["HolderRow", "LimitName", "concurrency_page", "limit_page", "reset_limit", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

LimitName = Annotated[str, PathParam(min_length=1, max_length=300)]
"""A limit's name in a page's path (`tag:TAG` for a tag's)."""


@dataclasses.dataclass(frozen=True)
class HolderRow:
    """A holder as the limit's page shows it: with its run, when a run holds the slots."""

    held: concurrency.SlotHolder
    """The holder."""
    run: records.RunRecord | None
    """Its run, if it is a run's (and the run is still stored)."""

    @property
    def step(self) -> str:
        """What in the run holds them (its step key), or the whole holder when not a run's."""
        prefix = f"{self.held.run_id}/"
        return self.held.holder.removeprefix(prefix) if self.held.run_id else self.held.holder


@router.get("/concurrency")
async def concurrency_page(request: Request) -> Response:
    """Every limit: global ones first, then those of task tags."""
    found = await run_in_threadpool(limit_service.list_limits, hst=pages.host_of(request))
    context = {
        "section": "concurrency",
        "limits": [status for status in found if status.tag is None],
        "tag_limits": [status for status in found if status.tag is not None],
    }
    return pages.render(request, "concurrency.html", context)


@router.get("/concurrency/{name}")
async def limit_page(request: Request, name: LimitName) -> Response:
    """One limit: its settings, its slots in use and who holds them."""
    hst = pages.host_of(request)
    status = await run_in_threadpool(_status, hst, name)
    rows = await run_in_threadpool(_holder_rows, hst, status)
    context = {"section": "concurrency", "status": status, "holders": rows}
    return pages.render(request, "concurrency_limit.html", context)


@router.post("/concurrency/{name}/reset")
async def reset_limit(request: Request, name: LimitName) -> Response:
    """Free every slot of the limit now, then show its page again."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    await run_in_threadpool(_reset, pages.host_of(request), name)
    done = f"Every slot of {name} is free; holders still running go on, no longer counted."
    return pages.redirect(f"/concurrency/{pages.url_quote(name)}", pages.Flash("ok", done))


def _status(hst: host.Host, name: str) -> limit_service.LimitStatus:
    return limit_service.get_limit(name, hst=hst)


def _holder_rows(hst: host.Host, status: limit_service.LimitStatus) -> list[HolderRow]:
    return [
        HolderRow(held, hst.store.get_run(held.run_id) if held.run_id else None)
        for held in status.holders
    ]


def _reset(hst: host.Host, name: str) -> None:
    limit_service.reset_limit(name, hst=hst)
