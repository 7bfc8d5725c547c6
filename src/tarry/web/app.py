"""The server's HTTP application: the REST API and the web UI, with their error pages.

`build_app(hst, lifespan=...)` builds it for a host. What runs beside it while it
is up (the embedded worker, the watcher, the mail receivers) is the lifespan that
`tarry.server.create_app` gives it; `tarry server` serves that with uvicorn.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette import routing
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from tarry import _version, config, errors, host
from tarry.web import (
    api,
    automation_api,
    event_api,
    limit_api,
    limits,
    pool_api,
    schemas,
    views,
    webhook_api,
)
from tarry.web.schemas import ErrorOut, FieldErrorOut
from tarry.web.timing import ServerTiming

__all__ = ["ErrorPage", "Lifespan", "build_app"]

logger = logging.getLogger("tarry.server")

STATIC = Path(__file__).parent / "static"

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]
"""What runs while the app is up: entered when the server starts, left when it stops."""

ErrorPage = Callable[[Request, int, str], Response]
"""How the UI shows an error (status, reason) as a page; set by the views."""


def build_app(hst: host.Host, *, lifespan: Lifespan | None = None) -> FastAPI:
    """The HTTP application for `hst`: the API under `/api`, the UI, static files.

    Args:
        hst: The host whose store it serves.
        lifespan: What runs while the app is up (`tarry.server.create_app` gives the
            embedded worker, the watcher and the mail receivers); none when omitted.
    """
    app = FastAPI(
        title="tarry",
        version=_version.__version__,
        description="Durable, human-in-the-loop workflows: runs, waits for input, answers. "
        "Every operation lists the statuses it returns; a method a path does not take gets "
        "405 with `Allow`.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.host = hst
    app.state.error_page = None
    app.include_router(api.router)
    app.include_router(pool_api.router)
    app.include_router(limit_api.router)
    app.include_router(event_api.router)
    app.include_router(webhook_api.inbound)
    app.include_router(webhook_api.admin)
    app.include_router(automation_api.router)
    _document_storable_json(app, hst.settings.max_field_chars)
    _add_ui(app)
    _add_error_handlers(app)
    app.add_middleware(limits.BodyLimit, max_bytes=hst.settings.max_body_bytes)
    app.add_middleware(ServerTiming)
    return app


def _document_storable_json(app: FastAPI, max_field_chars: int) -> None:
    """Add the `StorableJson` component the request bodies refer to."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = default()
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components[schemas.STORABLE] = schemas.storable_json(max_field_chars)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _add_ui(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    views.install(app)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error(
    request: Request, status: int, body: ErrorOut, headers: Mapping[str, str] | None = None
) -> Response:
    page: ErrorPage | None = request.app.state.error_page
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if _is_api(request) or page is None:
        return JSONResponse(body.model_dump(), status_code=status, headers=headers)
    response = page(request, status, body.detail)
    response.headers.update(headers)
    return response


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.TarryError)
    async def tarry_error(request: Request, exc: errors.TarryError) -> Response:
        found = api.error_status(exc)
        if found is None:
            logger.exception("unexpected error on %s", request.url.path, exc_info=exc)
            return _error(request, 500, ErrorOut(detail=str(exc), code="server_error"))
        status, code = found
        refused = (errors.InputInvalid, errors.ParameterError, errors.AutomationInvalid)
        fields = exc.field_errors if isinstance(exc, refused) else []
        body = ErrorOut(detail=str(exc), code=code, errors=[FieldErrorOut.of(f) for f in fields])
        return _error(request, status, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, RecursionError):
            return _too_deep(request)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body = ErrorOut(detail=str(exc.detail), code=code)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
        return _error(request, exc.status_code, body, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        fields = [_field_error(e) for e in exc.errors()]
        where = "; ".join(f"{'.'.join(str(p) for p in f.loc)}: {f.msg}" for f in fields)
        body = ErrorOut(detail=f"invalid request: {where}", code="invalid_request", errors=fields)
        return _error(request, 422, body)


def _too_deep(request: Request) -> Response:
    """A body nested too deep for Python's JSON parser (FastAPI calls it unreadable, 400).

    The boundary refuses anything over `TARRY_MAX_JSON_DEPTH` levels with a 422; a body
    nested thousands of levels deep gets the same answer instead of a bare 400.
    """
    depth = _host_settings(request).max_json_depth
    problem = FieldErrorOut(loc=[], msg=f"nested deeper than {depth} levels", type="too_deep")
    detail = f"the request cannot be stored: nested deeper than {depth} levels"
    return _error(request, 422, ErrorOut(detail=detail, code="value_refused", errors=[problem]))


def _host_settings(request: Request) -> config.Settings:
    hst: host.Host = request.app.state.host
    return hst.settings


# Our own "not found" errors come as `errors.NotFound`; a bare 404 is a wrong address.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "no_such_route",
    405: "method_not_allowed",
    413: "body_too_large",
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> list[str]:
    """The methods the request's path takes, over all its routes.

    Starlette's own `Allow` names the methods of the first route that matched the
    path only, and `/api/runs` has one route for GET and another for POST; so each
    method is tried against the app's routes (nested routers included).
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is routing.Match.FULL
            for route in routes
        )
    ]


def _field_error(error: dict[str, Any]) -> FieldErrorOut:
    loc = [part for part in error.get("loc", ()) if isinstance(part, str | int)]
    kind = str(error.get("type", "value_error"))
    return FieldErrorOut(loc=loc, msg=str(error.get("msg", "invalid")), type=kind)
