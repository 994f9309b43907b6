"""Every HTTP request has an id: kept from a safe ``X-Request-ID`` or made, returned, and on the request's log lines."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.apikeys import service as apikeys
from app.core.config import Settings
from app.main import create_app

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app(settings: Settings, session: Session) -> FastAPI:
    app = create_app(settings)
    app.state.session_factory = lambda: session
    return app


@pytest.fixture
def writer(session: Session) -> dict[str, str]:
    _, token = apikeys.create_key(session=session, name="test", scopes=["requests:write"])
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _file(client: TestClient, writer: dict[str, str], **headers: str | bytes) -> httpx.Response:
    response = client.post("/api/v1/requests", headers=writer | headers,
                           json={"full_name": "Ada Lovelace", "email": "ada@example.org"})
    assert response.status_code == 201, response.text
    return response


def _events(captured: str) -> list[dict[str, object]]:
    """The structlog lines (JSON) among everything written to stderr."""
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_an_incoming_safe_id_is_kept_on_the_response_and_every_log_line_of_the_request(
    client: TestClient, writer: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = _file(client, writer, **{"X-Request-ID": "edge-7f.3_A"})
    assert response.headers["X-Request-ID"] == "edge-7f.3_A"
    events = _events(capsys.readouterr().err)
    # The endpoint runs in a worker thread and the enqueue log comes from the commit after it: both carry the id.
    assert {"erasure.received", "task.enqueued"} <= {e["event"] for e in events}
    assert {e.get("http_request_id") for e in events} == {"edge-7f.3_A"}
    received = next(e for e in events if e["event"] == "erasure.received")
    assert received["request_id"] == response.json()["id"]  # the erasure request's own id is left as it was


@pytest.mark.parametrize("incoming", [None, "", "a" * 65, "two words", "id;drop", "<b>", "façade", "x/../y"])
def test_a_missing_or_unsafe_id_is_replaced_by_a_new_one(
    client: TestClient, writer: dict[str, str], capsys: pytest.CaptureFixture[str], incoming: str | None
) -> None:
    capsys.readouterr()
    headers = {} if incoming is None else {"X-Request-ID": incoming.encode()}  # bytes: UTF-8 goes out as sent
    response = _file(client, writer, **headers)
    made = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(made)
    events = _events(capsys.readouterr().err)
    assert events and {e.get("http_request_id") for e in events} == {made}


def test_each_request_gets_its_own_id(client: TestClient, writer: dict[str, str]) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    ids.add(_file(client, writer).headers["X-Request-ID"])
    assert len(ids) == 4
    # Error answers carry it too (a 404 from routing, a 401 from the API key check).
    assert GENERATED.fullmatch(client.get("/no-such-page").headers["X-Request-ID"])
    unauthorized = client.post("/api/v1/requests", json={}, headers={"X-Request-ID": "r-401"})
    assert unauthorized.status_code == 401 and unauthorized.headers["X-Request-ID"] == "r-401"


def test_the_binding_ends_with_the_request(app: FastAPI, writer: dict[str, str]) -> None:
    async def run() -> tuple[httpx.Response, dict[str, object]]:
        # ASGITransport runs the app in this task, so what the middleware leaves bound would be visible here.
        structlog.contextvars.bind_contextvars(outer="kept")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            response = await c.post("/api/v1/requests", headers=writer | {"X-Request-ID": "inner"},
                                    json={"full_name": "Ada Lovelace", "email": "ada@example.org"})
        return response, structlog.contextvars.get_contextvars()

    response, after = asyncio.run(run())
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "inner"
    assert after == {"outer": "kept"}
