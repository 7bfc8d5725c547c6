"""The Concurrency pages: every global concurrency limit and tag limit, and one limit.

The list shows, as Prefect's Concurrency page does, each global limit's name, limit,
active slots, slot decay per second and whether it is active; the limits of task
tags (named `tag:TAG`) follow in a section of their own, by tag. A limit's page
shows who holds its slots (which run or block, since when, until when its lease
holds) and has a Reset button that frees them. An unknown limit is a 404 page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tarry import host, limit_service
from tarry.web import auth, login, pages

__all__ = ["LimitName", "concurrency_page", "limit_page", "reset_limit", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])

LimitName = Annotated[str, PathParam(min_length=1, max_length=300)]
"""A limit's name in a page's path (`tag:TAG` for a tag's)."""


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
    status = await run_in_threadpool(_status, pages.host_of(request), name)
    return pages.render(
        request, "concurrency_limit.html", {"section": "concurrency", "status": status}
    )


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


def _reset(hst: host.Host, name: str) -> None:
    limit_service.reset_limit(name, hst=hst)
