"""Browser tests: a live uvicorn server (thread, free port, fresh migrated PostgreSQL database) and Debian's chromium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, OFFICER_EMAIL, OFFICER_PASSWORD, LiveServer
from playwright.sync_api import Browser, Page, sync_playwright

from app.core.config import Settings
from app.main import create_app
from app.officers import service as officer_service

STARTUP_TIMEOUT_S = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(make_database: Callable[[], str], settings: Settings) -> Iterator[LiveServer]:
    database_url = make_database()
    port = _free_port()
    # Same keys as the test settings (services that read get_settings() decrypt alike); own database and URL.
    live_settings = settings.model_copy(update={"database_url": database_url, "base_url": f"http://127.0.0.1:{port}"})
    app = create_app(live_settings)
    with app.state.session_factory() as db:
        officer_service.create_officer(session=db, email=OFFICER_EMAIL, password=OFFICER_PASSWORD, name="Dana DPO")
        db.commit()

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="rtbf-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


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
