"""Celery tasks: thin wrappers that load rows by id, call a service, and commit (the worker's one commit point)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from app.core import registry  # noqa: F401  (all models mapped)
from app.core.config import get_settings
from app.core.db import make_engine, make_session_factory, unit_of_work


@lru_cache
def _session_factory(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


@contextmanager
def task_session() -> Iterator[Session]:
    """Commit when the task body succeeds, roll back when it raises."""
    with unit_of_work(_session_factory(str(get_settings().database_url))) as session:
        yield session
