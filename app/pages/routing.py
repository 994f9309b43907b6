"""The route class of the HTML pages: domain errors become friendly pages, and the browser session is saved.

Every page route goes through ``PageRoute``, so an endpoint can simply raise ``NotFound``/``IllegalTransition``/...
and the visitor gets the same code and message the JSON API would give, as an HTML page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.core.errors import DomainError, InvalidInput
from app.pages import session as page_sessions
from app.pages.dependencies import LoginRequired
from app.pages.templating import redirect, render

_TITLES = {
    400: "Something is wrong with this request",
    401: "Please sign in",
    403: "This action is not allowed",
    404: "Page not found",
    405: "This action is not allowed here",
    409: "This cannot be done now",
    422: "Please check what you entered",
    500: "Something went wrong",
    503: "Please try again in a moment",
}


def _detail_lines(details: Any) -> list[str]:
    if not details:
        return []
    if isinstance(details, dict):
        return [f"{key.replace('_', ' ')}: {_plain(value)}" for key, value in details.items()]
    if isinstance(details, list | tuple):
        return [_plain(item) for item in details]
    return [_plain(details)]


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def error_page(request: Request, *, status_code: int, code: str, message: str, details: Any = None) -> Response:
    """The HTML twin of the API's ``{"error": {"code", "message", "details"}}``."""
    officer_area = request.url.path.startswith("/officer")
    return render(
        request,
        "error.html",
        {
            "title": _TITLES.get(status_code, "Something went wrong"),
            "status_code": status_code,
            "code": code,
            "message": message,
            "details": _detail_lines(details),
            "back_url": "/officer" if officer_area else "/",
            "back_label": "Back to the request queue" if officer_area else "Go to the start page",
        },
        status_code=status_code,
    )


def domain_error_page(request: Request, exc: DomainError) -> Response:
    return error_page(
        request, status_code=exc.status_code, code=exc.code, message=exc.message, details=exc.details
    )


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("HX-Request") == "true":
        # An htmx poll (the live job panel) would follow a 303 and put the sign-in page inside the panel: ask
        # htmx to send the whole window there, coming back to the page the panel lives on (path only: no
        # redirect to another site).
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        if page.path.startswith("/officer"):
            target = page.path + (f"?{page.query}" if page.query else "")
        return Response(status_code=200, headers={"HX-Redirect": "/officer/login?" + urlencode({"next": target})})
    return redirect("/officer/login?" + urlencode({"next": target}))


def discard_changes(request: Request, exc: DomainError) -> None:
    """Roll back what the failed action did, as the API's session dependency does for a raised error."""
    db = getattr(request.state, "page_db", None)
    if db is not None and not exc.keep_changes:
        db.rollback()


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except LoginRequired:
                response = login_redirect(request)
            except DomainError as exc:
                discard_changes(request, exc)
                response = domain_error_page(request, exc)
            except RequestValidationError as exc:
                fields = sorted({str(err.get("loc", ("", "?"))[-1]) for err in exc.errors()})
                response = domain_error_page(
                    request,
                    InvalidInput("Some values are missing or invalid.", details={"fields": fields}),
                )
            browser = getattr(request.state, "page_session", None)
            if browser is not None and browser.modified:
                page_sessions.save(response, browser, request.app.state.settings)
            return response

        return handler
