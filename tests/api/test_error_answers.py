"""Answers when something goes wrong that no domain rule foresaw: an exception nobody handled (500) and a database
that refuses connections (503). Both keep the request id and the one error shape (an HTML page outside /api),
and neither shows a traceback or what the exception said (it may quote personal data)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.main import create_app
from tests.live_server import free_port

SECRET = "ada.lovelace@example.org"  # what the failing code's exception quotes: it must never reach the client
_TITLE = re.compile(r"<title>([^<]+)</title>")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _fail() -> None:
    raise RuntimeError(f"could not process the request of {SECRET}")


@pytest.fixture
def failing(settings: Settings, session: Session) -> Iterator[TestClient]:
    """The real app, plus two routes of the test's own that raise an exception nobody handles."""
    app: FastAPI = create_app(settings)
    app.state.session_factory = lambda: session
    app.add_api_route("/api/v1/test-only/fail", _fail, methods=["GET"])
    app.add_api_route("/test-only/fail", _fail, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _events(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_an_unhandled_exception_under_api_is_a_500_in_the_one_error_shape_with_the_request_id(
    failing: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = failing.get("/api/v1/test-only/fail", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "trace-500"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "internal_error"
    assert SECRET not in response.text and "Traceback" not in response.text and "RuntimeError" not in response.text
    # The server's own log line names the request (so the answer can be traced) and not what the exception said.
    logged = [e for e in _events(capsys.readouterr().err) if e["event"] == "http.unhandled"]
    assert logged and logged[0]["http_request_id"] == "trace-500" and SECRET not in json.dumps(logged)


def test_an_unhandled_exception_on_a_page_is_a_plain_html_error_page(failing: TestClient) -> None:
    response = failing.get("/test-only/fail")
    assert response.status_code == 500
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert response.headers["content-type"].startswith("text/html")
    title = _TITLE.search(response.text)
    assert title and "went wrong" in title.group(1)
    assert response.headers["X-Request-ID"] in response.text  # a reference the visitor can quote
    assert SECRET not in response.text and "Traceback" not in response.text


@pytest.fixture
def database_down(settings: Settings) -> Iterator[TestClient]:
    """The real app on a real engine pointed at a port nobody listens on: every connection attempt is refused."""
    app = create_app(settings.model_copy(
        update={"database_url": f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/rtbf"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def test_a_database_that_refuses_connections_is_a_503_database_unavailable(database_down: TestClient) -> None:
    response = database_down.get("/api/v1/requests", headers={"Authorization": "Bearer rtbf_abc_def",
                                                               "X-Request-ID": "trace-503"})
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-Request-ID"] == "trace-503"
    error = response.json()["error"]
    assert error["code"] == "database_unavailable" and set(error) == {"code", "message", "details"}
    assert "127.0.0.1" not in response.text and "Traceback" not in response.text  # nothing of the driver's message
    assert database_down.get("/healthz").status_code == 200  # the health check does not wait for the database


def test_an_officer_page_on_a_database_that_refuses_connections_is_a_titled_503_page(
    database_down: TestClient,
) -> None:
    form = database_down.get("/officer/login")  # the form itself needs no database
    token = _CSRF.search(form.text)
    assert form.status_code == 200 and token
    page = database_down.post("/officer/login", data={"csrf_token": token.group(1), "email": "officer@example.org",
                                                      "password": "a password"})
    assert page.status_code == 503, page.text
    assert int(page.headers["Retry-After"]) >= 1 and page.headers["X-Request-ID"]
    assert page.headers["content-type"].startswith("text/html")
    title = _TITLE.search(page.text)
    assert title and "try again" in title.group(1).lower()
    assert "database_unavailable" in page.text
    assert "officer@example.org" not in page.text and "Traceback" not in page.text
