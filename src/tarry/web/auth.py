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
    "same",
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
    if scheme.lower() == "bearer" and same(given.strip(), token):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return same(cookie, session_value(token))


def same(given: str, expected: str) -> bool:
    """Whether two secrets are equal, in constant time, whatever their characters.

    `hmac.compare_digest` refuses `str` beyond ASCII (a `Bearer é` would be a
    500), so both are compared as UTF-8 bytes.
    """
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def _bytes(text: str) -> bytes:
    # surrogatepass: a form field can carry a lone surrogate, which strict UTF-8 refuses.
    return text.encode("utf-8", "surrogatepass")


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
    return bool(cookie) and bool(submitted) and same(cookie, submitted or "")
