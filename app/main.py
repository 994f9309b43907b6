"""The web process. ``create_app`` wires settings, database, routers and error handlers.

Importing this module must never import torch: discovery and unlearning run in workers.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.router import router as api_router
from app.core import registry  # noqa: F401  (every model mapped before the first query)
from app.core.config import Settings, get_settings
from app.core.db import make_session_factory, web_engine
from app.core.handlers import install_error_handlers
from app.core.health import router as health_router
from app.core.logging import configure_logging
from app.core.metrics import router as metrics_router
from app.core.request_id import RequestIdMiddleware
from app.pages.router import router as pages_router
from app.pages.routing import error_page

STATIC_DIR = Path(__file__).resolve().parents[1] / "frontend" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="rtbf",
        summary="GDPR Art. 17 erasure requests for language models: intake, review, unlearning, evidence.",
        version="0.1.0",
        docs_url=None,  # served by app.core.health from a vendored Swagger UI
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    engine = web_engine(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    install_error_handlers(app, html_error=error_page)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


app = create_app()
