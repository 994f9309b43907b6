"""Exception handlers: one JSON error shape under /api, for domain, validation and HTTP errors alike."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import DomainError

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
    html = _html_renderer(request)
    if html is not None:
        return html(request, status_code=exc.status_code, code=exc.code, message=exc.message, details=exc.details)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(jsonable_encoder(exc.to_dict()), status_code=exc.status_code, headers=headers)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    body = error_body("validation_error", "The request is invalid.", _validation_details(exc))
    return JSONResponse(body, status_code=422)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    html = _html_renderer(request)
    if html is not None:
        return html(request, status_code=exc.status_code, code=code, message=str(exc.detail))
    body = error_body(code, str(exc.detail), None)
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


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
