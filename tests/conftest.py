"""Shared fixtures: a migrated PostgreSQL database per xdist worker, a rolled-back session per test,
test settings, a factory of fresh migrated databases, a Redis database per worker, and (from
``tests/tiny_model_fixtures.py``) the tiny demo model.

The environment is fixed here, before any ``app`` module reads settings, so every part of the product
(services reading ``get_settings()``, ``app.main``'s module-level app, Celery) sees the test set-up.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_ADMIN_URL = os.environ.get("RTBF_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
_BASE_URL = _ADMIN_URL.rsplit("/", 1)[0]
# The pid keeps two concurrent runs (several engineers share this PostgreSQL) from dropping each other's database.
_TEST_DB = f"rtbf_test_{_WORKER}_{os.getpid()}"
_DATA_DIR = Path(tempfile.mkdtemp(prefix=f"rtbf-test-{_WORKER}-"))
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # works without an editable install of the package
    sys.path.insert(0, str(REPO_ROOT))

os.environ["RTBF_ENVIRONMENT"] = "test"
os.environ["RTBF_DATA_DIR"] = str(_DATA_DIR)
os.environ["DATABASE_URL"] = f"{_BASE_URL}/{_TEST_DB}"
os.environ.pop("REDIS_URL", None)  # the embedded filesystem broker under the temp data_dir, unless a test asks
for _name in ("RTBF_SECRET_KEY", "RTBF_ENCRYPTION_KEY", "RTBF_HMAC_KEY", "RTBF_SMTP_HOST"):
    os.environ.pop(_name, None)

from alembic import command  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from app.core.config import Settings, get_settings  # noqa: E402
from app.core.db import make_engine  # noqa: E402
from app.core.migrate import alembic_config  # noqa: E402

pytest_plugins = ("tests.tiny_model_fixtures",)


def _admin_execute(*statements: str) -> None:
    admin = create_engine(_ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def _drop_stale_databases() -> None:
    """Drop test databases left behind by runs whose process is gone (killed or crashed runs)."""
    admin = create_engine(_ADMIN_URL, poolclass=NullPool)
    with admin.connect() as conn:
        names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'rtbf_test_%'")).scalars().all()
    admin.dispose()
    for name in names:
        match = re.match(r"^rtbf_test_\w+?_(\d+)(_\w+)?$", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            try:
                _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except DBAPIError:  # another worker is dropping it at the same moment
                pass


def _recreate(name: str) -> str:
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return f"{_BASE_URL}/{name}"


def _migrate(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.check(config)  # the models and the migrations describe the same schema


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    _drop_stale_databases()
    url = _recreate(_TEST_DB)
    _migrate(url)
    yield url
    _admin_execute(f'DROP DATABASE IF EXISTS "{_TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    current = get_settings()
    assert current.database_url == database_url and current.environment == "test"
    return current


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end, whatever the code under test commits."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], str]]:
    """Factory of fresh, migrated databases holding committed data (live servers, CLI, migration tests).

    The first call migrates a template database; later ones copy it (CREATE DATABASE ... TEMPLATE), which
    is much faster than migrating again.
    """
    counter = itertools.count(1)
    template = f"{_TEST_DB}_template"
    created: list[str] = []

    def factory() -> str:
        if not created:
            _migrate(_recreate(template))
            created.append(template)
        name = f"{_TEST_DB}_{next(counter)}"
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        created.append(name)
        return f"{_BASE_URL}/{name}"

    yield factory
    for name in reversed(created):
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database (1..15) owned by this xdist worker, flushed before and after the test."""
    import redis

    number = int(_WORKER[2:]) if _WORKER.startswith("gw") and _WORKER[2:].isdigit() else 0
    # The run's pid too: two runs at once on one machine (engineers, CI) must not share a database.
    url = f"{os.environ.get('RTBF_TEST_REDIS_URL', 'redis://127.0.0.1:6379')}/{1 + (number + os.getpid()) % 15}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
