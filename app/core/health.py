"""Liveness/readiness and the offline API docs page.

``/healthz`` is what docker-compose's healthcheck calls: it answers only when the database does.
``/docs`` serves Swagger UI from a vendored copy (swagger-ui-dist 5.35.0, from npm), because the
default page loads its scripts from a CDN that an offline deployment cannot reach.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy import text

SWAGGER_DIR = "/static/vendor/swagger-ui-5.35.0"

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> dict[str, str]:
    with request.app.state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="rtbf API",
        swagger_js_url=f"{SWAGGER_DIR}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_DIR}/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
