"""The server's ASGI application: the REST API, the web UI and an embedded worker.

`create_app(hst)` builds it for a host; `tarry server` serves it with uvicorn.
The embedded worker executes the runs started through the API and UI, and
every run that needs a process, in this process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from tarry import __version__, errors, host, watcher
from tarry.replies import receivers
from tarry.web import api, views
from tarry.web.schemas import ErrorOut, FieldErrorOut
from tarry.web.timing import ServerTiming
from tarry.worker import Worker

__all__ = ["ErrorPage", "create_app"]

logger = logging.getLogger("tarry.server")

STATIC = Path(__file__).parent / "static"

_Lifespan = contextlib.AbstractAsyncContextManager[None]

ErrorPage = Callable[[Request, int, str], Response]
"""How the UI shows an error (status, reason) as a page; set by the views."""


def create_app(hst: host.Host | None = None, *, worker: bool = True, max_runs: int = 8) -> FastAPI:
    """The server application for `hst` (this process's host by default).

    Args:
        hst: The host whose store it serves.
        worker: Run an embedded worker while the app is up.
        max_runs: How many runs the embedded worker executes at once.
    """
    hst = hst or host.get_host()
    app = FastAPI(
        title="tarry",
        version=__version__,
        description="Durable, human-in-the-loop workflows: runs, waits for input, answers.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=_lifespan(hst, max_runs if worker else 0),
    )
    app.state.host = hst
    app.state.error_page = None
    app.include_router(api.router)
    _add_ui(app)
    _add_error_handlers(app)
    app.add_middleware(ServerTiming)
    return app


def _add_ui(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    views.install(app)


def _lifespan(hst: host.Host, max_runs: int) -> Callable[[FastAPI], _Lifespan]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watcher.ensure_watcher(hst)
        stop_receivers = receivers.start_mail_receivers(hst)
        embedded = Worker(hst, max_runs=max_runs) if max_runs > 0 else None
        thread = None
        if embedded is not None:
            thread = threading.Thread(target=embedded.run, name="tarry-server-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            if embedded is not None and thread is not None:
                # Waiting runs leave memory (they resume by replay in any process),
                # so stopping does not wait for people to answer.
                embedded.stop()
                hst.hub.ask_to_suspend()
                thread.join(timeout=30)
            for stop in stop_receivers:
                stop()

    return lifespan


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error(request: Request, status: int, body: ErrorOut) -> Response:
    page: ErrorPage | None = request.app.state.error_page
    if _is_api(request) or page is None:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body.model_dump(), status_code=status, headers=headers)
    return page(request, status, body.detail)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.TarryError)
    async def tarry_error(request: Request, exc: errors.TarryError) -> Response:
        found = api.error_status(exc)
        if found is None:
            logger.exception("unexpected error on %s", request.url.path, exc_info=exc)
            return _error(request, 500, ErrorOut(detail=str(exc), code="server_error"))
        status, code = found
        fields = exc.field_errors if isinstance(exc, errors.InputInvalid) else []
        body = ErrorOut(detail=str(exc), code=code, errors=[FieldErrorOut.of(f) for f in fields])
        return _error(request, status, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _error(request, exc.status_code, ErrorOut(detail=str(exc.detail), code=code))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        fields = [_field_error(e) for e in exc.errors()]
        where = "; ".join(f"{'.'.join(str(p) for p in f.loc)}: {f.msg}" for f in fields)
        body = ErrorOut(detail=f"invalid request: {where}", code="invalid_request", errors=fields)
        return _error(request, 422, body)


# Our own "not found" errors come as `errors.NotFound`; a bare 404 is a wrong address.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "no_such_route",
    405: "method_not_allowed",
}


def _field_error(error: dict[str, Any]) -> FieldErrorOut:
    loc = [part for part in error.get("loc", ()) if isinstance(part, str | int)]
    kind = str(error.get("type", "value_error"))
    return FieldErrorOut(loc=loc, msg=str(error.get("msg", "invalid")), type=kind)
