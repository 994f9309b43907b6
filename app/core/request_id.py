"""A request id for every HTTP request: bound into the log lines the request causes, returned as ``X-Request-ID``.

An incoming ``X-Request-ID`` (set by a proxy, or by a client tracing its own calls) is kept only when it is a short
plain token, because it is written verbatim into log lines and a response header; anything else is replaced.
Log lines name it ``http_request_id``: ``request_id`` is an erasure request's id throughout the product. It is also
kept in the request's state, for the 500 answer (rendered outside this middleware), and travels to the Celery tasks
the request sends (``app.core.tasks``), as a message header of the same name.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
LOG_KEY = "http_request_id"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def accepted_or_new(incoming: str | None) -> str:
    if incoming is not None and _SAFE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def of_request(scope: Scope) -> str | None:
    """The id this middleware gave the request (``scope`` of the request, or of an error handler outside it)."""
    value = scope.get("state", {}).get(LOG_KEY)
    return value if isinstance(value, str) else None


def current() -> str | None:
    """The id of the HTTP request this code runs for (bound below), or None outside a request."""
    value = structlog.contextvars.get_contextvars().get(LOG_KEY)
    return value if isinstance(value, str) else None


class RequestIdMiddleware:
    """Pure ASGI, so that streamed responses pass through untouched and the binding spans the whole request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_or_new(Headers(scope=scope).get(HEADER))
        # Starlette's ServerErrorMiddleware answers an unhandled exception around this middleware (after the binding
        # below has ended, with a send of its own): its handler reads the id here, as ``request.state``.
        scope.setdefault("state", {})[LOG_KEY] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        # Sync endpoints and dependencies run in worker threads on a copy of this context, so they see the id
        # too; leaving the block restores what was bound before, so nothing carries over to the next request.
        with structlog.contextvars.bound_contextvars(**{LOG_KEY: request_id}):
            await self.app(scope, receive, send_with_id)
