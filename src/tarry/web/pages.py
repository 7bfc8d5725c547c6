"""What every UI page shares: templates, flash messages, redirects, error pages, paging.

Pages render through `render` (which adds the flash message, the CSRF token and the
security headers) and answer actions with `redirect` (303, with an optional
`Flash`). This module imports no page module; the page modules import it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Query, Request
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tarry import host
from tarry.forms import headings
from tarry.web import auth, formatting

__all__ = [
    "FLASH_COOKIE",
    "SECURITY_HEADERS",
    "TEMPLATES",
    "Flash",
    "Limit",
    "Offset",
    "Pager",
    "csrf_failed",
    "error_page",
    "form_lists",
    "form_text",
    "host_of",
    "pager",
    "path_with_query",
    "redirect",
    "render",
    "url_quote",
]

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every UI page: no inline scripts or styles, no framing."""

FLASH_COOKIE = "tarry_flash"

_MAX_FLASH = 600

Limit = Annotated[int, Query(ge=1, le=200)]
"""How many items a list page shows."""
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
"""How many items a list page skips."""

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_env.filters.update(
    when=formatting.when,
    iso=formatting.iso,
    seconds=formatting.seconds,
    pretty=formatting.pretty,
    short=lambda run_id: str(run_id)[:8],
    level=logging.getLevelName,
    first_line=formatting.first_line,
    source=formatting.source,
    preview_json=formatting.preview_json,
    # An inbox item's heading and the description below it (`tarry.forms.headings`).
    heading=lambda item: headings.heading(
        item.spec, name=item.wait.name, label=item.wait.label, flow_name=item.run.flow_name
    ),
    prose=headings.prose,
)


# -- responses -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Flash:
    """A one-time message shown on the page after a redirect."""

    kind: str
    """`ok` or `error`."""
    text: str
    """What happened."""


def _read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return Flash(kind="error" if data["kind"] == "error" else "ok", text=str(data["text"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def redirect(url: str, flash: Flash | None = None) -> RedirectResponse:
    """A 303 redirect, carrying `flash` to the next page in a short-lived cookie.

    Args:
        url: Where to go.
        flash: The message to show there, if any.

    Returns:
        The redirect, with the security headers.
    """
    response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
    if flash is not None:
        data = json.dumps({"kind": flash.kind, "text": flash.text[:_MAX_FLASH]})
        value = base64.urlsafe_b64encode(data.encode()).decode()
        response.set_cookie(
            FLASH_COOKIE, value, max_age=120, httponly=True, samesite="strict", path="/"
        )
    return response


def render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    """A page: `template` with `context`, the pending flash message and the CSRF token.

    Args:
        request: The request the page answers.
        template: The template's file name in `TEMPLATES`.
        context: The page's values (they override the shared ones).
        status: The HTTP status to answer with.

    Returns:
        The HTML page, with the security headers and the CSRF cookie.
    """
    flash = _read_flash(request)
    values = {
        "request": request,
        "section": "",
        "flash": flash,
        "csrf": auth.csrf_token(request),
        "csrf_field": auth.CSRF_FIELD,
        "login_enabled": bool(host_of(request).settings.api_token),
        **context,
    }
    html = _env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    auth.set_csrf_cookie(request, response)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    return response


_REASONS = {
    400: "Bad request",
    401: "Login needed",
    403: "Forbidden",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    410: "No longer valid",
    422: "Invalid request",
    500: "Server error",
}


def error_page(request: Request, status: int, detail: str, title: str | None = None) -> Response:
    """An error as a page: the status and the reason, in words.

    Args:
        request: The request that failed.
        status: The HTTP status to answer with.
        detail: Why, in one sentence.
        title: The heading; the status's usual name when omitted.
    """
    title = title or _REASONS.get(status, "Error")
    context = {"status": status, "title": title, "detail": detail}
    return render(request, "error.html", context, status=status)


def csrf_failed(request: Request) -> Response:
    """The page for a form whose CSRF token is missing or wrong (nothing was changed).

    Args:
        request: The refused request.
    """
    detail = (
        "This form expired or was sent from another site, so nothing was changed. "
        "Go back, reload the page and try again."
    )
    return error_page(request, 403, detail)


# -- requests ------------------------------------------------------------------------


def host_of(request: Request) -> host.Host:
    """The host the server serves.

    Args:
        request: Any request to the server.
    """
    found: host.Host = request.app.state.host
    return found


def form_text(form: FormData, name: str) -> str | None:
    """A form field's text (`None` when it is missing or a file).

    Args:
        form: The submitted form.
        name: The field's name.
    """
    value = form.get(name)
    return value if isinstance(value, str) else None


def form_lists(form: FormData) -> dict[str, list[str]]:
    """A submitted form's text values by name (files are left out).

    Args:
        form: The submitted form.
    """
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


def path_with_query(request: Request, **changes: str | int | None) -> str:
    """This page's path and query, with `changes` applied (`None` removes a parameter).

    Args:
        request: The page's request.
        **changes: Query parameters to set, or to remove with `None`.
    """
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items() if v is not None]
    query = "&".join(f"{url_quote(k)}={url_quote(v)}" for k, v in pairs)
    return request.url.path + (f"?{query}" if query else "")


def url_quote(text: str) -> str:
    """`text` escaped as one part of a URL path or query (`/` included).

    Args:
        text: The text to escape.
    """
    return urllib.parse.quote(text, safe="")


# -- paging --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pager:
    """Newer/Older links of a list page."""

    newer: str | None
    """Link to the previous page, if any."""
    older: str | None
    """Link to the next page, if any."""
    first: int
    """1-based position of the first item shown."""
    last: int
    """Position of the last item shown."""


def pager(request: Request, limit: int, offset: int, found: int) -> Pager:
    """The Newer/Older links of a list page that read one item more than it shows.

    Args:
        request: The list page's request.
        limit: How many items the page shows.
        offset: How many items it skipped.
        found: How many items it read (at most `limit + 1`).
    """
    # One more item than shown was read: it only says whether an older page exists.
    newer = path_with_query(request, offset=max(0, offset - limit) or None) if offset else None
    older = path_with_query(request, offset=offset + limit) if found > limit else None
    shown = min(found, limit)
    return Pager(newer=newer, older=older, first=offset + 1 if shown else 0, last=offset + shown)
