"""The request body limit: a body over `Settings.max_body_bytes` gets 413.

The limit holds while the body is read, so a client that announces a small
`Content-Length` (or none, sending chunks) cannot get more past it. A route that
never reads its body is not affected.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware: reading more than `max_bytes` of a request body raises a 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a `receive` that counts the body's bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = _content_length(scope)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if announced > self.max_bytes:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> HTTPException:
        # Raised inside the app's own body reading, so the app's error handlers
        # answer it: JSON under /api, an error page in the UI.
        return HTTPException(413, f"the request body is over {self.max_bytes} bytes")


def _content_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0
