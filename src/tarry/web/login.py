"""Logging in to the UI with the API token, and the dependency that asks for it.

When the server has an API token, every page needs the login cookie
(`require_login`); without it the browser is sent to `/login`, and back to the page
it wanted afterwards, as long as that is a path on this site (`_safe_next`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tarry.web import auth, pages

__all__ = ["LoginRequired", "redirect_to_login", "require_login", "router"]


class LoginRequired(Exception):
    """The UI needs the API token and this browser has not given it."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def require_login(request: Request) -> None:
    """Let the request through when the server needs no token or the browser gave it.

    Args:
        request: The request for a page.

    Raises:
        LoginRequired: The browser has to log in first.
    """
    token = pages.host_of(request).settings.api_token
    if not auth.is_authenticated(request, token):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(wanted if request.method == "GET" else "/")


async def redirect_to_login(_request: Request, exc: Exception) -> Response:
    """Send the browser to the login form, which sends it back afterwards.

    Args:
        _request: The request that needs a login.
        exc: The `LoginRequired` that says where the browser was going.
    """
    wanted = exc.next_path if isinstance(exc, LoginRequired) else "/"
    return pages.redirect(f"/login?next={pages.url_quote(_safe_next(wanted))}")


def _safe_next(path: str | None) -> str:
    """A path on this site to go to after login; anything else becomes `/`."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    if any(ch in path for ch in "\\\r\n\t") or ":" in path.split("?", 1)[0]:
        return "/"
    return path


router = APIRouter(include_in_schema=False)


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    """The token form (or `/` when the server needs no token)."""
    if not pages.host_of(request).settings.api_token:
        return pages.redirect("/")
    context = {"section": "login", "next": _safe_next(next), "error": None}
    return pages.render(request, "login.html", context)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success set the login cookie and go where the user wanted."""
    token = pages.host_of(request).settings.api_token
    if not token:
        return pages.redirect("/")
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    wanted = _safe_next(pages.form_text(form, "next"))
    given = pages.form_text(form, "token") or ""
    if not auth.same(given, token):
        error = "That token is not right. Try again."
        context = {"section": "login", "next": wanted, "error": error}
        return pages.render(request, "login.html", context, status=401)
    response = pages.redirect(wanted)
    auth.set_session_cookie(response, token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the login cookie."""
    form = await request.form()
    if not auth.csrf_valid(request, pages.form_text(form, auth.CSRF_FIELD)):
        return pages.csrf_failed(request)
    response = pages.redirect("/login")
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
