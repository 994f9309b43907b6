"""Load that cannot wedge the web process: a live uvicorn server (thread, free port, fresh migrated PostgreSQL
database, the production timeouts) and real client connections.

The reproduced failure: the audit chain's advisory lock held for seconds by a slow append, 20 createRequest calls
whose clients gave up, and the server stuck for a minute and a half with every connection waiting on the lock
(and /healthz waiting behind them). Here the lock is held from a connection of the test's own; the calls must be
refused with 503 and Retry-After within the lock timeout, rolled back whole, and the server must be idle and
answering within a second as soon as the lock is free; a backlog larger than the worker threads must drain at once
too. Pages get the 503 as HTML; a request that finds no session (or no connection) in time gets it as well.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool

from app.audit import service as audit_service
from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.db import POOL_OVERFLOW, POOL_SIZE
from app.core.security import blind_index
from app.main import create_app
from app.notifications.models import OutboxMessage
from app.requests.models import ErasureRequest
from tests.audit_lock import audit_lock_held
from tests.live_server import bearer_headers, free_port, serving

PATIENT, IMPATIENT = 4, 16
POOL_CAPACITY = POOL_SIZE + POOL_OVERFLOW
BACKLOG = 60  # more than the worker threads (anyio's default 40)
GIVE_UP_S = 1.0  # the impatient clients' timeout: well under the 2 s lock timeout, as in the reproduction
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Live:
    url: str
    app: FastAPI
    server: uvicorn.Server
    settings: Settings
    headers: dict[str, str]


@contextmanager
def serving_app(settings: Settings, headers: dict[str, str]) -> Iterator[Live]:
    """The app on uvicorn in a thread, on a free port, until the block ends."""
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    app = create_app(settings)
    with serving(app, port, name="rtbf-load-server") as server:
        yield Live(f"http://127.0.0.1:{port}", app, server, settings, headers)


@pytest.fixture(scope="module")
def live(make_database: Callable[[], str], settings: Settings) -> Iterator[Live]:
    live_settings = settings.model_copy(update={"database_url": make_database()})
    assert live_settings.db_lock_timeout_ms == 2000  # the defaults under test, not values tuned for the test
    headers = bearer_headers(str(live_settings.database_url), name="load test", scopes=["requests:write"])
    with serving_app(live_settings, headers) as server:
        yield server


def _payload(n: int) -> dict[str, str]:
    return {"full_name": f"Burst Caller {n}", "email": f"burst-caller-{n}@example.org"}


def _post(live: Live, body: dict[str, str], timeout: float) -> tuple[httpx.Response | httpx.TimeoutException, float]:
    started = time.monotonic()
    try:
        outcome: httpx.Response | httpx.TimeoutException = httpx.post(
            f"{live.url}/api/v1/requests", json=body, headers=live.headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        outcome = exc
    return outcome, time.monotonic() - started


def _get(live: Live, path: str) -> tuple[int, float]:
    started = time.monotonic()
    response = httpx.get(live.url + path, timeout=5)
    return response.status_code, time.monotonic() - started


def _busy_backends(database_url: str, *, besides: int) -> list[str]:
    """The states of this database's sessions that are running a statement or sitting in a transaction."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(
                text("SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid NOT IN (pg_backend_pid(), :besides) AND state IN ('active', 'idle in transaction')"),
                {"besides": besides}).scalars())
    finally:
        engine.dispose()


def _stored(live: Live) -> dict[str, Any]:
    with live.app.state.session_factory() as db:
        return {
            "email_indexes": set(db.scalars(select(ErasureRequest.email_index))),
            "received": db.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.event == "erasure.received")),
            "outbox": db.scalar(select(func.count()).select_from(OutboxMessage)),
            "chain_ok": audit_service.verify_chain(session=db).ok,
        }


def _assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "unavailable"


def test_a_burst_behind_the_audit_lock_is_refused_fast_and_the_api_recovers_at_once(live: Live) -> None:
    database_url = str(live.settings.database_url)
    before = _stored(live)
    with audit_lock_held(database_url) as holder, ThreadPoolExecutor(PATIENT + IMPATIENT) as pool:
        patient = [pool.submit(_post, live, _payload(n), 10.0) for n in range(PATIENT)]
        impatient = [pool.submit(_post, live, _payload(n), GIVE_UP_S) for n in range(PATIENT, PATIENT + IMPATIENT)]
        # Once every pooled connection waits on the lock, liveness still answers at once (it does not wait for a
        # connection) and readiness too (it asks the database on a connection of its own).
        deadline = time.monotonic() + 1.9
        while live.app.state.engine.pool.checkedout() < POOL_CAPACITY:
            assert time.monotonic() < deadline, "the burst did not take every pooled connection"
            time.sleep(0.01)
        for path in ("/healthz", "/readyz"):
            status, elapsed = _get(live, path)
            assert status == 200 and elapsed < 0.5, (path, status, elapsed)

        # Every patient call is refused while the lock is still held: 15 pooled connections each wait the
        # 2 s lock timeout, the rest wait for a connection first, so all are answered within about 4 s.
        done, waiting = wait(patient, timeout=8)
        assert not waiting, "createRequest hung behind the audit lock"
        for future in done:
            response, _ = future.result()
            assert isinstance(response, httpx.Response)
            _assert_busy(response)
        assert all(isinstance(future.result()[0], httpx.TimeoutException) for future in impatient)

        # The abandoned calls end on the server too, still under the lock: nothing left running or in a transaction.
        deadline = time.monotonic() + 8
        while live.server.server_state.tasks:
            assert time.monotonic() < deadline, "the server is still working on abandoned calls"
            time.sleep(0.05)
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _busy_backends(database_url, besides=holder_pid) == []
        assert live.app.state.engine.pool.checkedout() == 0

    for path in ("/healthz", "/readyz"):
        status, elapsed = _get(live, path)
        assert status == 200 and elapsed < 1.0, (path, status, elapsed)
    created, elapsed = _post(live, _payload(PATIENT + IMPATIENT), 1.0)
    assert isinstance(created, httpx.Response) and created.status_code == 201, created
    assert elapsed < 1.0

    # Nothing of the refused calls was written: no request row (though each inserted one before the lock wait),
    # no audit entry, no queued email; the chain is whole.
    after = _stored(live)
    new_index = blind_index(_payload(PATIENT + IMPATIENT)["email"], "email", settings=live.settings)
    assert after["email_indexes"] - before["email_indexes"] == {new_index}
    assert after["received"] == before["received"] + 1
    assert after["outbox"] == before["outbox"] + 1
    assert after["chain_ok"]


def test_a_burst_larger_than_the_worker_threads_drains_at_once_when_the_lock_is_freed(live: Live) -> None:
    """More requests than worker threads (40): requests waiting for a connection must not take the threads that
    those holding one need to finish, or the backlog drains only as the waiters time out, one pool timeout apiece."""
    database_url = str(live.settings.database_url)
    before = _stored(live)
    state = live.server.server_state
    answered_before = state.total_requests
    with ThreadPoolExecutor(BACKLOG) as pool:
        with audit_lock_held(database_url):
            for n in range(BACKLOG):
                pool.submit(_post, live, _payload(2000 + n), GIVE_UP_S)
            # Wait for the event, not for a budget: every call of the burst is in the server, waiting on the lock
            # or (on a slow machine, where sending the burst outlasts the lock timeout) already answered.
            deadline = time.monotonic() + 120
            while len(state.tasks) + state.total_requests - answered_before < BACKLOG:
                assert time.monotonic() < deadline, "the burst did not reach the server"
                time.sleep(0.01)
        released = time.monotonic()
        while live.server.server_state.tasks:
            assert time.monotonic() - released < 4.0, "the backlog drains only as requests time out"
            time.sleep(0.05)
    created, elapsed = _post(live, _payload(2000 + BACKLOG), 1.0)
    assert isinstance(created, httpx.Response) and created.status_code == 201 and elapsed < 1.0
    after = _stored(live)
    # Each request filed is whole: its row, its audit entry and its email, or none of them.
    added = len(after["email_indexes"] - before["email_indexes"])
    assert after["received"] - before["received"] == added == after["outbox"] - before["outbox"]
    assert after["chain_ok"]


def test_a_page_behind_the_audit_lock_is_a_readable_503(live: Live) -> None:
    database_url = str(live.settings.database_url)
    before = _stored(live)
    with httpx.Client(base_url=live.url, timeout=10) as browser:
        form = browser.get("/")
        token = _CSRF.search(form.text)
        assert token, "the request form has no CSRF field"
        with audit_lock_held(database_url):
            started = time.monotonic()
            page = browser.post("/requests", data={"csrf_token": token.group(1), "full_name": "Page Caller",
                                                   "email": "page-caller@example.org"})
            elapsed = time.monotonic() - started
    assert page.status_code == 503 and elapsed < 4.0
    assert "text/html" in page.headers["content-type"] and int(page.headers["Retry-After"]) >= 1
    assert "unavailable" in page.text and "please try again in a few seconds" in page.text
    assert _stored(live) == before


def test_a_request_that_waits_too_long_for_a_session_is_a_503(live: Live) -> None:
    quick = live.settings.model_copy(update={"db_pool_timeout_s": 0.5})
    with serving_app(quick, live.headers) as server, ThreadPoolExecutor(POOL_CAPACITY) as pool:
        with audit_lock_held(str(quick.database_url)):
            waiting = [pool.submit(_post, server, _payload(3000 + n), 10.0) for n in range(POOL_CAPACITY)]
            deadline = time.monotonic() + 1.9
            while server.app.state.engine.pool.checkedout() < POOL_CAPACITY:
                assert time.monotonic() < deadline, "the calls did not take every session"
                time.sleep(0.01)
            refused, elapsed = _post(server, _payload(3000 + POOL_CAPACITY), 5.0)
        wait(waiting, timeout=10)
    assert isinstance(refused, httpx.Response)
    _assert_busy(refused)
    assert refused.json()["error"]["details"] == {"reason": "pool_timeout"} and elapsed < 1.5


def test_a_request_that_finds_no_free_connection_is_a_503(live: Live) -> None:
    app = create_app(live.settings.model_copy(update={"db_pool_timeout_s": 0.3}))
    engine = app.state.engine
    held = []
    try:
        with pytest.raises(PoolTimeout):
            while True:
                held.append(engine.connect())
        with TestClient(app) as client:
            started = time.monotonic()
            response = client.post("/api/v1/requests", json=_payload(100), headers=live.headers)
            assert time.monotonic() - started < 2.0
            _assert_busy(response)
            assert response.json()["error"]["details"] == {"reason": "pool_timeout"}
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
    finally:
        for connection in held:
            connection.close()
        engine.dispose()

