"""Liveness/readiness and the offline API docs page.

``/healthz`` (liveness) says only that the process is up: it touches neither the database nor the worker threads,
so it answers even while every request waits on the database. ``/readyz`` (what docker-compose's healthcheck
calls) says whether the database answers, on a connection of its own with short bounds, so it neither waits for
the request pool nor hangs when the database does.
``/docs`` serves Swagger UI from a vendored copy (swagger-ui-dist 5.35.0, from npm), because the
default page loads its scripts from a CDN that an offline deployment cannot reach.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import make_engine
from app.core.logging import get_logger

SWAGGER_DIR = "/static/vendor/swagger-ui-5.35.0"
# The readiness probe's bounds: libpq's connect timeout (whole seconds, 2 at least), the statement's, and the
# answer's as a whole (a probe thread still running then is left to its own timeouts).
PROBE_CONNECT_S = 2
PROBE_STATEMENT_MS = 1000
READY_TIMEOUT_S = 3.0

log = get_logger(__name__)
router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    # async: answered on the event loop, not in a worker thread that could be waiting on the database.
    return {"status": "ok"}


def _probe_engine(app: FastAPI) -> Engine:
    # Made on first use, on the event loop (so once); unpooled, so nothing is left open between probes.
    engine: Engine | None = getattr(app.state, "readiness_engine", None)
    if engine is None:
        engine = make_engine(str(app.state.settings.database_url), pooled=False, connect_timeout_s=PROBE_CONNECT_S,
                             lock_timeout_ms=PROBE_STATEMENT_MS, statement_timeout_ms=PROBE_STATEMENT_MS)
        app.state.readiness_engine = engine
    return engine


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    engine = _probe_engine(request.app)
    try:
        with anyio.fail_after(READY_TIMEOUT_S):
            # A limiter of its own: not queued behind requests that hold every default worker thread.
            await anyio.to_thread.run_sync(_select_one, engine, limiter=anyio.CapacityLimiter(1),
                                           abandon_on_cancel=True)
    except (SQLAlchemyError, TimeoutError) as exc:
        log.warning("readyz.database_unavailable", error=type(exc).__name__)
        return JSONResponse({"status": "unavailable"}, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok"})


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="rtbf API",
        swagger_js_url=f"{SWAGGER_DIR}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_DIR}/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
