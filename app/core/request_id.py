"""A request id for every HTTP request: bound into the log lines the request causes, returned as ``X-Request-ID``.

An incoming ``X-Request-ID`` (set by a proxy, or by a client tracing its own calls) is kept only when it is a short
plain token, because it is written verbatim into log lines and a response header; anything else is replaced.
Log lines name it ``http_request_id``: ``request_id`` is an erasure request's id throughout the product.
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


class RequestIdMiddleware:
    """Pure ASGI, so that streamed responses pass through untouched and the binding spans the whole request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_or_new(Headers(scope=scope).get(HEADER))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        # Sync endpoints and dependencies run in worker threads on a copy of this context, so they see the id
        # too; leaving the block restores what was bound before, so nothing carries over to the next request.
        with structlog.contextvars.bound_contextvars(**{LOG_KEY: request_id}):
            await self.app(scope, receive, send_with_id)
