"""The fault tests' set-up: a fresh committed database with the tiny model registered, engine workers started as
``rtbf up`` starts them (their own process group, so a fault can take the whole group down), and the officer's
job page rendered by the real app. Imported by name: the test folders are not packages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core import processes
from app.core.config import Settings
from app.jobs import service as jobs
from app.jobs.models import Job, JobStatus
from app.main import create_app
from app.officers import sessions as officer_sessions
from app.officers.models import Officer
from app.pages.session import COOKIE_NAME, PageSession, encode
from app.requests import review
from app.requests import service as requests
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from tests.workers.worker_helpers import REPO_ROOT, TEST_FLAGS, wait_until

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

    def events(self, request_id: str) -> list[str]:
        with self.db() as session:
            stmt = select(AuditEntry.event).where(AuditEntry.request_id == request_id).order_by(AuditEntry.seq)
            return list(session.scalars(stmt))

    def wait_for_job(self, job_id: str, proc: subprocess.Popen[bytes] | None, *,
                     until: Callable[[Job], bool] | None = None, timeout: float = JOB_TIMEOUT) -> Job:
        until = until or (lambda job: not job.active)
        state: dict[str, Job] = {}

        def check() -> bool:
            state["job"] = self.job(job_id)
            return until(state["job"])

        wait_until(check, timeout=timeout, what=f"job {job_id}", proc=proc, log_path=self.log_path)
        return state["job"]

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


def running_at(stage_prefix: str) -> Callable[[Job], bool]:
    """The job runs and reports a stage starting with ``stage_prefix`` (or it already ended: fail fast)."""
    return lambda job: (not job.active) or (job.status == JobStatus.running
                                            and str(job.progress.get("stage", "")).startswith(stage_prefix))


@contextmanager
def engine_worker_group(env: dict[str, str], log_path: Path, *, hostname: str,
                        prefix: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """The engine worker with ``rtbf up``'s command line, in a session (process group) of its own as ``rtbf up``
    starts it; ``prefix`` runs it under a wrapper (``prlimit``, which execs it). Whatever of the group is left at
    the end is stopped: TERM, then KILL."""
    command = [*prefix, *processes.engine_worker_command(hostname), *TEST_FLAGS]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            _signal_group(proc, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            _signal_group(proc, signal.SIGKILL)  # the pool child too, should it have outlived its parent
            proc.wait()


def _group_members(pgid: int) -> list[int]:
    """Live celery processes in process group ``pgid``, read from /proc (the leader may be gone already)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if int(fields[2]) == pgid and b"celery" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # Each member by pid rather than killpg: once the group is empty its id could name someone else's group.
    for pid in _group_members(proc.pid):
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to every process of the worker (the OOM killer, a ``kill -9 -PGID``, a lost container)."""
    members = _group_members(proc.pid)
    assert proc.pid in members and len(members) >= 2, members  # the main process and its pool child
    _signal_group(proc, signal.SIGKILL)
    proc.wait(timeout=20)
