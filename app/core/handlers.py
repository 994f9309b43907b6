"""Exception handlers: one JSON error shape under /api, for domain, validation, HTTP and database-busy errors alike,
and for the exceptions nobody handled (a 500 that says nothing of the exception)."""

from __future__ import annotations

import re
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core import request_id
from app.core.db import connect_failed
from app.core.errors import DomainError, Unavailable
from app.core.logging import get_logger

log = get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}

# The SQLSTATEs of a wait cut short by the web engine's bounds (app/core/db.py::web_engine).
_TIMED_OUT = {"55P03": "lock_timeout", "57014": "statement_timeout"}


class HtmlErrorRenderer(Protocol):
    def __call__(
        self, request: Request, *, status_code: int, code: str, message: str, details: Any = None
    ) -> Response: ...


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Echo locations and messages, never the submitted values (they may be personal data).
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    retry = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else {}
    html = _html_renderer(request)
    if html is not None:
        response = html(request, status_code=exc.status_code, code=exc.code, message=exc.message, details=exc.details)
        response.headers.update(retry)
        return response
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else retry
    return JSONResponse(jsonable_encoder(exc.to_dict()), status_code=exc.status_code, headers=headers or None)


def timed_out(exc: BaseException) -> str | None:
    """Which bound a database error hit (lock_timeout, statement_timeout, pool_timeout), or None for any other."""
    if isinstance(exc, PoolTimeout):
        return "pool_timeout"
    if isinstance(exc, OperationalError):
        # psycopg 3 names it sqlstate, psycopg2 pgcode.
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return _TIMED_OUT.get(state or "")
    return None


def connection_lost(exc: BaseException) -> str | None:
    """The database ended the session under the request (a restart, a failover, ``pg_terminate_backend``):
    "connection_lost" when a statement was cut off (the transaction died with the session), "commit_unconfirmed"
    when it was the COMMIT (no statement): the server may have committed before the answer was lost."""
    if isinstance(exc, OperationalError) and exc.connection_invalidated:
        return "connection_lost" if exc.statement is not None else "commit_unconfirmed"
    return None


_UNAVAILABLE = {
    "connection_lost": "The connection to the database was lost and nothing was saved: please try again in a few "
                       "seconds.",
    "commit_unconfirmed": "The connection to the database was lost while saving, so whether it was saved is not "
                          "known: check before sending it again.",
    "connection_refused": "The database cannot be reached at the moment and nothing was saved: please try again in "
                          "a little while.",
}


async def database_busy_handler(request: Request, exc: Exception) -> Response:
    """A bounded wait ran out, or the connection was lost: the session dependency has rolled the transaction back
    (the pool replaces a lost connection), so say "try again"."""
    if connect_failed(exc):  # no connection could be opened: the database is down, restarting or refusing
        log.warning("db.unavailable", reason="connection_refused", method=request.method)
        return await domain_error_handler(request, Unavailable(
            _UNAVAILABLE["connection_refused"], code="database_unavailable", details={"reason": "connection_refused"}))
    reason = timed_out(exc) or connection_lost(exc)
    if reason is None:
        raise exc  # any other database failure stays a 500 (internal_error_handler), logged by the server
    log.warning("db.timed_out" if reason not in _UNAVAILABLE else "db.connection_lost", reason=reason,
                method=request.method)
    message = _UNAVAILABLE.get(reason, "The service is busy and nothing was saved: please try again in a few seconds.")
    return await domain_error_handler(request, Unavailable(message, details={"reason": reason}))


_INTERNAL = "Something went wrong on our side: please try again later."
# When even the error page cannot be rendered (the fault may be in the templates themselves).
_BARE_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Something went wrong · rtbf"
              "</title></head><body><h1>Something went wrong</h1><p>{message}</p><p>Reference: {reference}</p>"
              "</body></html>")


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    """An exception nobody handled: a 500 in the one error shape (the HTML error page outside /api) that names the
    request id and nothing of the exception, whose message may quote personal data. Starlette calls this outside
    the request-id middleware, so the id comes from the request's state; the server logs the traceback after."""
    reference = request_id.of_request(request.scope)
    log.error("http.unhandled", error_type=type(exc).__name__, method=request.method,
              **{request_id.LOG_KEY: reference})
    headers = {request_id.HEADER: reference} if reference else {}
    details = {"reference": reference} if reference else None
    html = _html_renderer(request)
    if html is not None:
        try:
            response = html(request, status_code=500, code="internal_error", message=_INTERNAL, details=details)
        except Exception:
            response = HTMLResponse(_BARE_PAGE.format(message=_INTERNAL, reference=reference or "-"), status_code=500)
        response.headers.update(headers)
        return response
    return JSONResponse(error_body("internal_error", _INTERNAL, details), status_code=500, headers=headers or None)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    body = error_body("validation_error", "The request is invalid.", _validation_details(exc))
    return JSONResponse(body, status_code=422)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_TEMPLATE_PARAM = re.compile(r"\{[^}/]+\}")


def _described_methods(request: Request) -> list[str] | None:
    """The methods the app's OpenAPI description gives the requested path, or None if it does not describe it.

    As OpenAPI matches URLs: a concrete path before templated ones, and among templates the one with fewer
    parameters (``/api/v1/jobs/unlearning`` is startUnlearning's, POST only, though ``/api/v1/jobs/{job_id}``
    would match it too)."""
    openapi = getattr(request.app, "openapi", None)
    if openapi is None or getattr(request.app, "openapi_url", None) is None:
        return None
    path = request.scope.get("path", "")
    candidates = []
    for template, item in openapi().get("paths", {}).items():
        regex = "[^/]+".join(re.escape(part) for part in _TEMPLATE_PARAM.split(template))
        if re.fullmatch(regex, path):
            candidates.append((len(_TEMPLATE_PARAM.findall(template)), item))
    if not candidates:
        return None
    item = min(candidates, key=lambda candidate: candidate[0])[1]
    return [method for method in _METHODS if method.lower() in item]


def _routed_methods(request: Request) -> list[str]:
    """The methods some route serves at this path (asked of the routes themselves, included routers too)."""
    routes = request.app.router.routes
    return [method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]


def allowed_methods(request: Request) -> list[str]:
    """The ``Allow`` of a 405. Starlette's own names only the first route that matched the path, so a path
    served by two routes (GET and POST /api/v1/models) would advertise one method: described paths take their
    methods from the OpenAPI description, the others (the HTML pages) from the routes that serve them."""
    described = _described_methods(request)
    return described if described is not None else _routed_methods(request)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        methods = allowed_methods(request)
        if methods:
            headers["Allow"] = ", ".join(methods)
    html = _html_renderer(request)
    if html is not None:
        response = html(request, status_code=exc.status_code, code=code, message=str(exc.detail))
        response.headers.update(headers)
        return response
    body = error_body(code, str(exc.detail), None)
    return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


def _html_renderer(request: Request) -> HtmlErrorRenderer | None:
    """Outside /api, errors become the pages' friendly HTML error page (when the app has one)."""
    if _is_api(request):
        return None
    return getattr(request.app.state, "html_error_renderer", None)


def install_error_handlers(app: FastAPI, *, html_error: HtmlErrorRenderer | None = None) -> None:
    app.state.html_error_renderer = html_error
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(OperationalError, database_busy_handler)
    app.add_exception_handler(PoolTimeout, database_busy_handler)
    app.add_exception_handler(Exception, internal_error_handler)
