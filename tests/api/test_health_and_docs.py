from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.health import READY_TIMEOUT_S
from app.main import create_app


def test_healthz_and_readyz_answer_when_the_database_does(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A port that accepts TCP connections and never says a word, like a database that hangs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{listener.getsockname()[1]}/rtbf"


def _client_on(settings: Settings, database_url: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"database_url": database_url})))


def test_without_a_database_healthz_is_live_and_readyz_refuses(settings: Settings) -> None:
    with socket.socket() as sock:  # a port with nothing listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with _client_on(settings, f"postgresql+psycopg2://postgres@127.0.0.1:{port}/rtbf") as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
        assert int(ready.headers["Retry-After"]) >= 1


def test_readyz_does_not_hang_when_the_database_does(settings: Settings, silent_database: str) -> None:
    with _client_on(settings, silent_database) as client:
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert time.monotonic() - started < READY_TIMEOUT_S + 0.5
        assert client.get("/healthz").status_code == 200


def test_docs_page_uses_the_vendored_swagger_ui(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in page.text
    script = client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "rtbf"
