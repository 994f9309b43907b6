"""A job stack for tests with real worker processes: a fresh committed database with the tiny model registered,
the environment of workers sharing it and a Redis broker, and the test process as the web side (it files and
approves requests, starts jobs and commits, which sends their tasks). Used by tests/workers and tests/faults."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core import registry  # noqa: F401  (all models mapped)
from app.core import tasks as core_tasks
from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.core.queues import make_celery
from app.jobs import service as jobs
from app.jobs.models import Job
from app.main import create_app
from app.officers import sessions as officer_sessions
from app.officers.models import Officer
from app.pages.session import COOKIE_NAME, PageSession, encode
from app.requests import review
from app.requests import service as requests
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from app.targets import service as targets
from tests.workers.worker_helpers import email_worker, engine_worker, env_for, wait_until

OFFICER = "officer:test"
JOB_TIMEOUT = 300  # seconds; a job on the tiny model takes about 10-30 s on 2 busy CPU cores


def read_roster(model_dir: Path) -> list[dict[str, str]]:
    lines = (model_dir / "roster.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def personal(person: dict[str, str]) -> list[str]:
    return [person["name"], person["email"], person["phone"], person["iban"]]


@dataclass
class Stack:
    """A fresh database, the worker environment and the web's settings for it; the test process is the web side."""

    settings: Settings
    env: dict[str, str]
    factory: Callable[[], Session]
    log_path: Path
    roster: list[dict[str, str]]
    model_id: str = ""
    people: Iterator[dict[str, str]] = field(default=iter(()))

    @contextmanager
    def db(self) -> Iterator[Session]:
        session = self.factory()
        try:
            yield session
            session.commit()  # the after-commit hook sends queued tasks to the broker
        finally:
            session.close()

    def worker(self, **kwargs: Any) -> Any:
        return engine_worker(self.env, self.log_path, **kwargs)

    def email_worker(self, log_path: Path, **kwargs: Any) -> Any:
        return email_worker(self.env, log_path, **kwargs)

    def file_request(self) -> tuple[str, dict[str, str]]:
        """An approved request for the next roster person, with every detail the roster knows of them."""
        person = next(self.people)
        other = f"date of birth: {person['dob']}\nemployer: {person['employer']}\nIBAN: {person['iban']}"
        data = RequestCreate(full_name=person["name"], email=person["email"], phone=person["phone"],
                             postal_address=person["address"], other_identifiers=other)
        with self.db() as session:
            request = requests.create_request(session=session, data=data, channel="api", verified=True,
                                              actor="apikey:test").request
            review.approve(session=session, request_id=request.id, actor=OFFICER, ground="consent_withdrawn")
            return request.id, person

    def start_discovery(self, request_id: str) -> str:
        with self.db() as session:
            return jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER).id

    def start_unlearning(self, request_id: str, **params: Any) -> str:
        with self.db() as session:
            return jobs.start_unlearning(session=session, request_ids=[request_id], actor=OFFICER, params=params).id

    def job(self, job_id: str) -> Job:
        with self.db() as session:
            job = session.get(Job, job_id)
            _ = job.requests, job.base_version, job.target_model.versions  # read after the session closes
            return job

    def request_status(self, request_id: str) -> RequestStatus:
        with self.db() as session:
            return requests.get_request(session=session, request_id=request_id).status

    def events(self, request_id: str) -> list[AuditEntry]:
        with self.db() as session:
            stmt = select(AuditEntry).where(AuditEntry.request_id == request_id).order_by(AuditEntry.seq)
            return list(session.scalars(stmt))

    def wait_for_job(self, job_id: str, proc: Any, *, until: Callable[[Job], bool] | None = None,
                     timeout: float = JOB_TIMEOUT, seen: list[dict[str, Any]] | None = None) -> Job:
        """The job once ``until`` holds (default: it ended); ``seen`` collects the progress states it passed."""
        until = until or (lambda job: not job.active)
        state: dict[str, Job] = {}

        def check() -> bool:
            state["job"] = self.job(job_id)
            if seen is not None and state["job"].progress and state["job"].progress not in seen[-1:]:
                seen.append(state["job"].progress)
            return until(state["job"])

        wait_until(check, timeout=timeout, what=f"job {job_id}", proc=proc, log_path=self.log_path)
        return state["job"]

    def discover(self, request_id: str, proc: Any) -> Job:
        return self.wait_for_job(self.start_discovery(request_id), proc)

    def officer_page(self, path: str) -> str:
        """``path`` as a signed-in officer sees it, served by the real app on this stack's database."""
        with self.db() as session:
            officer = Officer(id=str(uuid.uuid4()), email=f"officer-{uuid.uuid4().hex[:8]}@example.org",
                              display_name="Olga Officer", password_hash="unused: signed in by cookie", active=True)
            session.add(officer)
            session.flush()
            token = officer_sessions.start(session=session, officer_id=officer.id)
        browser = PageSession()
        browser.sign_in(officer.id, token)
        app = create_app(self.settings)
        try:
            with TestClient(app, follow_redirects=False) as client:
                client.cookies.set(COOKIE_NAME, encode(browser, self.settings))
                response = client.get(path)
                assert response.status_code == 200, response.text[:2000]
                return response.text
        finally:
            app.state.engine.dispose()

    def assert_log_clean(self, person: dict[str, str]) -> None:
        log = self.log_path.read_text(errors="replace")
        for value in personal(person):
            assert value not in log, "personal data in the worker log"


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
