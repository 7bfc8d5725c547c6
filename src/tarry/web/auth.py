"""API token, UI login cookie and CSRF protection.

* With `TARRY_API_TOKEN` set, an API call must carry `Authorization: Bearer
  <token>` (or the UI's login cookie), and the UI asks for the token once at
  `/login`. The cookie holds an HMAC of the token, never the token itself.
* Every form post carries a CSRF token equal to the `tarry_csrf` cookie
  (double submit). The cookies are `SameSite=Strict` and `HttpOnly`, so another
  site can neither read nor send them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "csrf_token",
    "csrf_valid",
    "is_authenticated",
    "session_value",
    "set_csrf_cookie",
    "set_session_cookie",
]

SESSION_COOKIE = "tarry_session"
CSRF_COOKIE = "tarry_csrf"
CSRF_FIELD = "csrf_token"


def session_value(token: str) -> str:
    """What the login cookie holds for `token` (an HMAC: the cookie never holds the token)."""
    return hmac.new(token.encode(), b"tarry-ui-session", hashlib.sha256).hexdigest()


def is_authenticated(request: Request, token: str) -> bool:
    """Whether the request may use the API or UI: no token is set, or it carries it."""
    if not token:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.compare_digest(cookie, session_value(token))


def set_session_cookie(response: Response, token: str) -> None:
    """Log the browser in."""
    response.set_cookie(
        SESSION_COOKIE, session_value(token), httponly=True, samesite="strict", path="/"
    )


def csrf_token(request: Request) -> str:
    """The CSRF token to put in forms: the request's cookie, or a new one to set."""
    known = request.cookies.get(CSRF_COOKIE)
    if known:
        return known
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(24)
        request.state.new_csrf = fresh
    return str(fresh)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the CSRF cookie if this request made a new token."""
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is not None:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict", path="/")


def csrf_valid(request: Request, submitted: str | None) -> bool:
    """Whether a form's CSRF field matches the browser's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie, submitted or "")
