"""PostgreSQL drops a web request's connection mid-request (``pg_terminate_backend``, as a failover, a restart or
an administrator would), on a live uvicorn server and a fresh database.

The request is caught where it waits: it has inserted the erasure request and waits for the audit chain's lock,
held by a connection of the test's own; its backend is terminated there. The client must get the one error shape,
a 503 with Retry-After (nothing was saved, so sending it again is right), nothing of it may remain, and the next
request must succeed at once on a fresh connection (pool_pre_ping and the pool's invalidation).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from app.audit import service as audit_service
from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.deps import SessionDep
from app.main import create_app
from app.notifications.models import OutboxMessage
from app.requests.models import ErasureRequest
from tests.audit_lock import audit_lock_held
from tests.live_server import bearer_headers, free_port, serving

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Live:
    url: str
    app: FastAPI
    database_url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def live(make_database: Callable[[], str], settings: Settings) -> Iterator[Live]:
    database_url = make_database()
    port = free_port()
    live_settings = settings.model_copy(update={"database_url": database_url, "base_url": f"http://127.0.0.1:{port}"})
    headers = bearer_headers(database_url, name="fault test", scopes=["requests:write"])
    app = create_app(live_settings)
    with serving(app, port, name="rtbf-fault-server"):
        yield Live(f"http://127.0.0.1:{port}", app, database_url, headers)


def _terminate_the_waiter(holder: Connection, within: float) -> int:
    """Terminate the backend waiting for the advisory lock (the request's), as soon as it waits; its pid."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = list(holder.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")).scalars())
        if pids:
            (pid,) = pids
            assert holder.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            return int(pid)
        time.sleep(0.01)
    raise AssertionError("no request waited on the audit lock")


def _stored(live: Live) -> dict[str, Any]:
    with live.app.state.session_factory() as db:
        return {
            "requests": db.scalar(select(func.count()).select_from(ErasureRequest)),
            "audit": db.scalar(select(func.count()).select_from(AuditEntry)),
            "outbox": db.scalar(select(func.count()).select_from(OutboxMessage)),
            "chain_ok": audit_service.verify_chain(session=db).ok,
        }


def _backend_alive(database_url: str, pid: int) -> bool:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                           {"pid": pid}).scalar_one())
    finally:
        engine.dispose()


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1


def _post_request(live: Live, n: int) -> httpx.Response:
    return httpx.post(f"{live.url}/api/v1/requests", headers=live.headers, timeout=10,
                      json={"full_name": f"Dropped Caller {n}", "email": f"dropped-caller-{n}@example.org"})


def test_an_api_request_whose_connection_is_terminated_gets_a_503_and_the_next_one_succeeds(live: Live) -> None:
    before = _stored(live)
    with audit_lock_held(live.database_url) as holder, ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        call = pool.submit(_post_request, live, 1)
        victim = _terminate_the_waiter(holder, within=1.5)  # well inside the 2 s lock timeout
        response = call.result(timeout=10)
        elapsed = time.monotonic() - started
    _assert_unavailable(response)
    error = response.json()["error"]
    assert error["code"] == "unavailable" and error["details"] == {"reason": "connection_lost"}
    assert "nothing was saved" in error["message"]
    assert elapsed < 2.0  # answered when the connection went, not at the lock timeout
    assert not _backend_alive(live.database_url, victim)
    assert _stored(live) == before  # the inserted request row went with the aborted transaction

    started = time.monotonic()
    created = _post_request(live, 2)
    assert created.status_code == 201, created.text
    assert time.monotonic() - started < 1.0
    after = _stored(live)
    assert after["requests"] == before["requests"] + 1 and after["outbox"] == before["outbox"] + 1
    assert after["chain_ok"]


def test_a_page_whose_connection_is_terminated_is_a_readable_503(live: Live) -> None:
    before = _stored(live)
    with httpx.Client(base_url=live.url, timeout=10) as browser:
        token = _CSRF.search(browser.get("/").text)
        assert token, "the request form has no CSRF field"
        with audit_lock_held(live.database_url) as holder, ThreadPoolExecutor(1) as pool:
            call = pool.submit(browser.post, "/requests", data={"csrf_token": token.group(1),
                                                                "full_name": "Page Caller",
                                                                "email": "page-caller@example.org"})
            _terminate_the_waiter(holder, within=1.5)
            page = call.result(timeout=10)
        _assert_unavailable(page)
        assert "text/html" in page.headers["content-type"] and "nothing was saved" in page.text
        assert _stored(live) == before
        assert browser.get("/").status_code == 200


def test_a_commit_whose_answer_is_lost_is_a_503_that_does_not_claim_nothing_was_saved(live: Live,
                                                                                      settings: Settings) -> None:
    """The one moment the server cannot say "nothing was saved": the connection goes between the request's last
    statement and its COMMIT (which the server may have carried out). That moment cannot be hit from outside, so
    a route of the test's own, on the product's session dependency, terminates its own backend after its last
    statement; the dependency's commit then meets the dead connection."""
    app = create_app(settings.model_copy(update={"database_url": live.database_url}))
    admin = create_engine(live.database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    @app.post("/api/v1/test-fault/commit-lost")
    def commit_lost(db: SessionDep) -> dict[str, str]:
        pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()  # opens the transaction to commit
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return {"status": "ok"}

    @app.get("/api/v1/test-fault/ping")
    def ping(db: SessionDep) -> dict[str, int]:
        return {"one": db.execute(text("SELECT 1")).scalar_one()}

    try:
        with TestClient(app) as client:
            response = client.post("/api/v1/test-fault/commit-lost")
            _assert_unavailable(response)
            error = response.json()["error"]
            assert error["details"] == {"reason": "commit_unconfirmed"}
            assert "not known" in error["message"] and "nothing was saved" not in error["message"]
            assert client.get("/api/v1/test-fault/ping").json() == {"one": 1}  # the next session, a fresh connection
    finally:
        admin.dispose()
        app.state.engine.dispose()
