"""Fixtures of the fault tests: a stack (fresh database, the tiny model registered, a broker) per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core import tasks as core_tasks
from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.core.queues import make_celery
from app.targets import service as targets
from fault_helpers import OFFICER, Stack, read_roster
from tests.workers.worker_helpers import env_for


@pytest.fixture
def make_stack(make_database, settings: Settings, tiny_model_dir: Path, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Stack]]:
    """``make_stack(broker_url)``: a stack whose web side (this process) and workers share that Redis."""
    engines = []

    def factory(broker_url: str) -> Stack:
        database = make_database()
        env = env_for(DATABASE_URL=database, REDIS_URL=broker_url, RTBF_DATA_DIR=str(tmp_path / "data"),
                      RTBF_SECRET_KEY=settings.secret_key, RTBF_ENCRYPTION_KEY=settings.encryption_key,
                      RTBF_HMAC_KEY=settings.hmac_key, RTBF_JOB_DEVICE="cpu", RTBF_JOB_THREADS="1")
        web = settings.model_copy(update={"database_url": database, "redis_url": broker_url})
        # The web side's commits must reach the workers' broker: the after-commit hook sends through this.
        sender = make_celery(web)
        monkeypatch.setattr(core_tasks, "task_sender", lambda: sender)
        engine = make_engine(database)
        engines.append(engine)
        roster = read_roster(tiny_model_dir)
        stack = Stack(settings=web, env=env, factory=make_session_factory(engine), log_path=tmp_path / "worker.log",
                      roster=roster, people=iter(roster))
        with stack.db() as session:
            stack.model_id = targets.add_model(session=session, name="demo-assistant", path=tiny_model_dir,
                                               actor=OFFICER).id
        return stack

    yield factory
    for engine in engines:
        engine.dispose()


@pytest.fixture
def stack(make_stack: Callable[[str], Stack], redis_url: str) -> Stack:
    return make_stack(redis_url)
