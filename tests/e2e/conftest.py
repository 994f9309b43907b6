"""Browser tests: a live uvicorn server (thread, free port, fresh migrated PostgreSQL database) and Debian's chromium."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, OFFICER_EMAIL, OFFICER_PASSWORD, LiveServer
from playwright.sync_api import Browser, Page, sync_playwright

from app.core.config import Settings
from app.main import create_app
from app.officers import service as officer_service
from tests.live_server import free_port, serving


@pytest.fixture(scope="session")
def live_server(make_database: Callable[[], str], settings: Settings) -> Iterator[LiveServer]:
    database_url = make_database()
    port = free_port()
    # Same keys as the test settings (services that read get_settings() decrypt alike); own database and URL.
    live_settings = settings.model_copy(update={"database_url": database_url, "base_url": f"http://127.0.0.1:{port}"})
    app = create_app(live_settings)
    with app.state.session_factory() as db:
        officer_service.create_officer(session=db, email=OFFICER_EMAIL, password=OFFICER_PASSWORD, name="Dana DPO")
        db.commit()

    with serving(app, port):
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"Debian's chromium is required at {CHROMIUM} (make chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages in separate browser contexts, i.e. separate cookie jars: one per person (subject, officer)."""
    contexts = []

    def factory() -> Page:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()
