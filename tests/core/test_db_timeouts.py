"""The web process's bounded waits on PostgreSQL: the settings reach every session, the audit chain's advisory
lock obeys lock_timeout, and only the errors of those bounds count as "busy" (503); workers keep no bound."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from app.apikeys import service as apikey_service
from app.apikeys.models import ApiKey
from app.audit import service as audit_service
from app.core.config import Settings
from app.core.db import connect_failed, make_engine, make_session_factory, web_engine
from app.core.handlers import timed_out


@pytest.fixture
def bounded(settings: Settings) -> Iterator[Engine]:
    engine = web_engine(settings.model_copy(update={"db_lock_timeout_ms": 300, "db_statement_timeout_ms": 700}))
    yield engine
    engine.dispose()


def _show(engine: Engine, name: str) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text(f"SHOW {name}")).scalar_one())


def test_settings_default_to_short_bounds_and_refuse_none(settings: Settings) -> None:
    defaults = (settings.db_lock_timeout_ms, settings.db_statement_timeout_ms, settings.db_pool_timeout_s)
    assert defaults == (2000, 10_000, 5.0)
    with pytest.raises(ValidationError):
        Settings(db_lock_timeout_ms=0)


def test_every_web_session_carries_the_bounds_and_a_worker_engine_none(settings: Settings) -> None:
    engine = web_engine(settings.model_copy(update={"db_lock_timeout_ms": 1500, "db_statement_timeout_ms": 7000,
                                                    "db_pool_timeout_s": 1.5}))
    try:
        assert (_show(engine, "lock_timeout"), _show(engine, "statement_timeout")) == ("1500ms", "7s")
        assert engine.pool.timeout() == 1.5  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    worker = make_engine(str(settings.database_url))
    try:
        assert (_show(worker, "lock_timeout"), _show(worker, "statement_timeout")) == ("0", "0")
    finally:
        worker.dispose()


def test_the_audit_lock_wait_obeys_lock_timeout(engine: Engine, bounded: Engine) -> None:
    factory = make_session_factory(bounded)
    with engine.connect() as holder:
        # Should the bound fail to hold, PostgreSQL ends the holder after 5 s and the append below goes through.
        holder.execute(text("SET LOCAL idle_in_transaction_session_timeout = '5s'"))
        holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit_service._APPEND_LOCK_KEY})
        with factory() as session:
            started = time.monotonic()
            with pytest.raises(OperationalError) as raised:
                audit_service.append(session=session, event="test.blocked", actor="system")
            waited = time.monotonic() - started
            session.rollback()
        holder.rollback()
    assert timed_out(raised.value) == "lock_timeout"
    assert 0.25 < waited < 2.0
    # Once the lock is free the same engine appends at once.
    with factory() as session:
        entry = audit_service.append(session=session, event="test.unblocked", actor="system")
        assert entry.seq >= 1
        session.rollback()


def test_an_append_writes_the_callers_changes_before_it_takes_the_audit_lock(
    make_database: Callable[[], str], settings: Settings
) -> None:
    """A caller's pending write that waits on a row lock must not wait holding the chain's lock (every appender
    would queue behind it)."""
    url = make_database()
    engine = web_engine(settings.model_copy(update={"database_url": url, "db_lock_timeout_ms": 1500}))
    factory = make_session_factory(engine)
    with factory() as db:
        key, _ = apikey_service.create_key(session=db, name="row to lock", scopes=["requests:read"])
        db.commit()
    other = create_engine(url, poolclass=NullPool)
    outcome: dict[str, str | None] = {}

    def rename_and_append() -> None:
        with factory() as db:
            db.get_one(ApiKey, key.id).name = "renamed"
            try:
                audit_service.append(session=db, event="apikey.renamed", actor="system")
            except OperationalError as exc:
                outcome["error"] = timed_out(exc)
            db.rollback()

    try:
        with other.connect() as row_lock, other.connect() as probe:
            row_lock.execute(text("SELECT 1 FROM api_keys WHERE id = :id FOR UPDATE"), {"id": key.id})
            writer = threading.Thread(target=rename_and_append)
            writer.start()
            deadline = time.monotonic() + 1.2
            while not probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND wait_event_type = 'Lock'")).scalar_one():
                assert time.monotonic() < deadline, "the writer never waited on the row lock"
                probe.rollback()  # a fresh snapshot of pg_stat_activity
                time.sleep(0.02)
            chain_free = probe.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                       {"key": audit_service._APPEND_LOCK_KEY}).scalar_one()
            probe.rollback()
            writer.join(timeout=5)
            row_lock.rollback()
    finally:
        other.dispose()
        engine.dispose()
    assert chain_free is True
    assert outcome == {"error": "lock_timeout"}


def test_a_long_statement_is_cancelled(bounded: Engine) -> None:
    with bounded.connect() as connection, pytest.raises(OperationalError) as raised:
        connection.execute(text("SELECT pg_sleep(5)"))
    assert timed_out(raised.value) == "statement_timeout"


def test_another_database_error_is_not_a_timeout(bounded: Engine) -> None:
    with bounded.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text("SELECT 1 / 0"))
    assert timed_out(raised.value) is None


def test_sqlite_keeps_its_busy_timeout(settings: Settings, tmp_path) -> None:
    engine = web_engine(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'rtbf.sqlite3'}"}))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
    finally:
        engine.dispose()


def test_a_refused_connection_is_a_connect_failure_not_a_busy_timeout(bounded: Engine) -> None:
    """The answer to a refused connection (503 database_unavailable) is in tests/api/test_error_answers.py."""
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refusing = make_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/x", lock_timeout_ms=300)
    try:
        with pytest.raises(OperationalError) as raised, refusing.connect():
            pass
    finally:
        refusing.dispose()
    assert connect_failed(raised.value) and timed_out(raised.value) is None
    with bounded.connect() as connection, pytest.raises(DBAPIError) as failed:
        connection.execute(text("SELECT 1 / 0"))
    assert not connect_failed(failed.value)  # a statement that fails on an open connection is not one
