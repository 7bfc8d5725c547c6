"""The web UI: server-rendered pages for runs, the inbox and answer forms.

Every page works without JavaScript; htmx only refreshes lists and run pages in
place. Data and actions come from `tarry.service` only, called in a worker
thread (the store is synchronous). Every form carries a CSRF token (see
`tarry.web.auth`), every action answers with a redirect (303) and a flash
message, and errors are pages with a readable reason, never a traceback.

Everything shown is escaped by Jinja2, except markdown descriptions, which are
rendered with raw HTML disabled and only http, https and mailto links.

This module puts the UI together; the pages live in their own modules:

* `tarry.web.pages`: what every page shares (templates, flash, redirects, errors).
* `tarry.web.login`: the login form and the dependency that asks for it.
* `tarry.web.run_pages`: the run list, one run, and the run actions.
* `tarry.web.input_pages`: the inbox and the answer pages.
* `tarry.web.deployment_pages`: deployments and their Run form.
* `tarry.web.flow_pages`: flows, with their deployments and recent runs.
* `tarry.web.pool_pages`: work pools and queues, their Pause/Resume and limits.
* `tarry.web.limit_pages`: the Concurrency page: global and tag limits, their holders.
* `tarry.web.event_pages`: the Events page (filters in the URL, keyset pages) and one event.
* `tarry.web.automation_pages`: the Automations pages: the list, one with its firings, new.
* `tarry.web.answer_form`, `tarry.web.formatting`, `tarry.safe_markdown`: what
  the pages show.
"""

from __future__ import annotations

from fastapi import FastAPI

from tarry.safe_markdown import render_markdown
from tarry.web import (
    automation_pages,
    deployment_pages,
    event_pages,
    flow_pages,
    input_pages,
    limit_pages,
    link_pages,
    login,
    pool_pages,
    run_pages,
)
from tarry.web.pages import error_page

__all__ = ["error_page", "install", "render_markdown"]


def install(app: FastAPI) -> None:
    """Add the UI's pages to `app` and make its errors pages too.

    Args:
        app: The server application (`tarry.web.app.build_app`).
    """
    app.include_router(login.router)
    app.include_router(link_pages.router)
    app.include_router(input_pages.router)
    app.include_router(run_pages.router)
    app.include_router(deployment_pages.router)
    app.include_router(flow_pages.router)
    app.include_router(pool_pages.router)
    app.include_router(limit_pages.router)
    app.include_router(event_pages.router)
    app.include_router(automation_pages.router)
    app.add_exception_handler(login.LoginRequired, login.redirect_to_login)
    app.state.error_page = error_page
