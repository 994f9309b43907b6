"""SQLAlchemy 2.0 base, engine/session factory and the request-scoped session (the one place that commits)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from fastapi import Request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from app.core.config import Settings
from app.core.errors import DomainError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both PostgreSQL and SQLite (which drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock when the transaction starts: two concurrent appenders to the audit chain then
    # queue up instead of both reading the same tail and one failing on commit.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


_CONNECT_FAILED = "rtbf_connect_failed"


def _mark_connect_failure(context: ExceptionContext) -> None:
    # SQLAlchemy calls this with no connection only when opening one failed (the database down, restarting, refusing).
    if context.connection is None and context.sqlalchemy_exception is not None and not context.is_pre_ping:
        setattr(context.sqlalchemy_exception, _CONNECT_FAILED, True)


def connect_failed(exc: BaseException) -> bool:
    """Whether a database error is the failure to open a connection (so no statement ever ran)."""
    return bool(getattr(exc, _CONNECT_FAILED, False))


# SQLAlchemy's defaults, stated because get_session admits as many requests at once as they give connections.
POOL_SIZE, POOL_OVERFLOW = 5, 10


def make_engine(
    url: str,
    *,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
    pool_timeout_s: float | None = None,
    connect_timeout_s: int | None = None,
    pooled: bool = True,
) -> Engine:
    """Engine with bound parameters kept out of error messages (they can hold an officer's email).

    On PostgreSQL the timeouts bound every lock wait and statement of every session it opens (None: the server's
    setting, no bound by default), a wait past them raising ``OperationalError`` and aborting the transaction, and
    ``pool_timeout_s`` the wait for a pooled connection (None: SQLAlchemy's 30 s). SQLite keeps its busy_timeout
    and SQLAlchemy's pool defaults. ``pooled=False``: a connection per use, closed after it.
    """
    pool_args: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        # isolation_level=None hands transaction control to SQLAlchemy (the pysqlite recipe in its docs).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}, hide_parameters=True,
            **pool_args,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        event.listen(engine, "handle_error", _mark_connect_failure)
        return engine
    connect_args: dict[str, Any] = {}
    # Startup options: the bounds hold from the connection's first statement, at no round trip of their own.
    options = [f"-c {name}={value}" for name, value in
               (("lock_timeout", lock_timeout_ms), ("statement_timeout", statement_timeout_ms)) if value is not None]
    if options:
        connect_args["options"] = " ".join(options)
    if connect_timeout_s is not None:
        connect_args["connect_timeout"] = connect_timeout_s
    if pooled:
        pool_args.update(pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        if pool_timeout_s is not None:
            pool_args["pool_timeout"] = pool_timeout_s
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args, **pool_args)
    event.listen(engine, "handle_error", _mark_connect_failure)
    return engine


def web_engine(settings: Settings) -> Engine:
    """The web process's engine: no request waits unbounded on a lock, a statement or the pool (see Settings)."""
    return make_engine(str(settings.database_url), lock_timeout_ms=settings.db_lock_timeout_ms,
                       statement_timeout_ms=settings.db_statement_timeout_ms,
                       pool_timeout_s=settings.db_pool_timeout_s)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session outside a web request (CLI, Celery task): commit when the body succeeds, else roll back."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def one_off_session(url: str) -> Iterator[Session]:
    """A unit of work on an engine of its own, disposed afterwards: for a CLI command, and for a forking
    worker's main process (a pooled connection left there would be shared by every forked child)."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


_GATE_TIMEOUT_S = 30.0  # for an app without settings (a test's own): the pool's default wait


def _session_gate(app: Any) -> anyio.Semaphore:
    # One per event loop: a semaphore belongs to the loop it waits on, and a test may drive an app from several.
    loop = asyncio.get_running_loop()
    gate = getattr(app.state, "session_gate", None)
    if gate is None or gate[0] is not loop:
        gate = app.state.session_gate = (loop, anyio.Semaphore(POOL_SIZE + POOL_OVERFLOW))
    return gate[1]


def _finish(session: Session, *, commit: bool) -> None:
    """Commit (rolling back if that fails) or roll back, then give the connection back: one worker-thread trip."""
    try:
        if not commit:
            session.rollback()
            return
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        session.close()


async def _finish_in_thread(session: Session, *, commit: bool) -> None:
    # Shielded: even a cancelled request ends its transaction and returns its connection.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(partial(_finish, session, commit=commit))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Request-scoped session: commit once when the endpoint returns, roll back on error.

    A ``DomainError`` with ``keep_changes`` (a counted wrong code) commits what was recorded before it.

    No more requests hold a session than the pool has connections; the others wait here, on the event loop, at most
    the pool timeout (then the pool's TimeoutError, a 503). Waiting in the pool instead, each would hold one of the
    worker threads that the requests holding a connection (one of them perhaps the audit lock) need for their next
    step and their commit: under a burst every request would stall behind them.
    """
    settings = getattr(request.app.state, "settings", None)
    timeout = settings.db_pool_timeout_s if settings is not None else _GATE_TIMEOUT_S
    gate = _session_gate(request.app)
    with anyio.move_on_after(timeout) as waited:
        await gate.acquire()
    if waited.cancelled_caught:
        raise PoolTimeout(f"no database session free within {timeout} s")
    try:
        session: Session = request.app.state.session_factory()
        try:
            yield session
        except DomainError as exc:
            await _finish_in_thread(session, commit=exc.keep_changes)
            raise
        except BaseException:
            await _finish_in_thread(session, commit=False)
            raise
        await _finish_in_thread(session, commit=True)
    finally:
        gate.release()
