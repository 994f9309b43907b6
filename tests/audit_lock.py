"""The audit chain's append lock held from a connection of the test's own, as a slow append would hold it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from app.audit import service as audit_service


@contextmanager
def audit_lock_held(database_url: str) -> Iterator[Connection]:
    """The holding connection (a test may terminate others from it, or ask its backend pid)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as holder:
            # Should the test die holding it, PostgreSQL ends this session and frees the lock.
            holder.execute(text("SET LOCAL idle_in_transaction_session_timeout = '20s'"))
            holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit_service._APPEND_LOCK_KEY})
            yield holder
            holder.rollback()
    finally:
        engine.dispose()
