"""Real Celery workers: on Redis (the deployed set-up) and on the filesystem broker with SQLite (embedded), where
the engine worker and the email worker share one queue folder and each takes only its own queue's tasks."""

from __future__ import annotations

import base64
import json
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.core.config import Settings
from app.core.queues import GPU_QUEUE
from app.jobs.service import DISCOVER_TASK
from app.notifications.service import SEND_EMAIL_TASK
from app.requests import service
from app.requests.schemas import RequestCreate
from worker_helpers import cli_worker, email_worker, engine_worker, env_for, run_python, wait_until

CREATE_AND_COMMIT = """
from app.core import registry
from app.core.config import get_settings
from app.core.db import make_engine, make_session_factory
from app.requests import service
from app.requests.schemas import RequestCreate
factory = make_session_factory(make_engine(str(get_settings().database_url)))
with factory() as db:
    created = service.create_request(session=db, data=RequestCreate(full_name='Ada Lovelace',
                                     email='ada@example.org'), channel='web')
    request_id = created.request.id
    db.commit()  # the email task is sent to the broker here, after the commit
print('REQUEST=' + request_id)
"""


def _outbox_state(url: str, request_id: str) -> list[tuple[str, str | None, object]]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, delivery, sent_at FROM outbox_messages WHERE request_id = :r"),
                            {"r": request_id}).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _request_id(stdout: str) -> str:
    return next(line.split("=", 1)[1] for line in stdout.splitlines() if line.startswith("REQUEST="))


def test_rtbf_worker_on_redis_delivers_the_email(make_database, redis_url, settings, tmp_path) -> None:
    database = make_database()
    env = env_for(DATABASE_URL=database, REDIS_URL=redis_url, RTBF_DATA_DIR=str(settings.data_dir))
    request_id = _request_id(run_python(CREATE_AND_COMMIT, env))
    assert _outbox_state(database, request_id)[0][1] is None  # queued in Redis, not yet delivered
    log_path = tmp_path / "worker.log"
    with cli_worker(env, log_path, "--queues", "default", "--hostname", "mail@testhost") as proc:
        wait_until(lambda: _outbox_state(database, request_id)[0][1] == "outbox", timeout=60,
                   what="the email task to run", proc=proc, log_path=log_path)
    kind, delivery, sent_at = _outbox_state(database, request_id)[0]
    assert kind == "verification_code" and delivery == "outbox" and sent_at is not None
    log = log_path.read_text()
    assert SEND_EMAIL_TASK in log and "succeeded" in log
    assert "ada@example.org" not in log and "Ada Lovelace" not in log


def test_embedded_default_sqlite_and_filesystem_broker(tmp_path) -> None:
    """No DATABASE_URL, no REDIS_URL: SQLite file + kombu filesystem broker under the data dir."""
    data_dir = tmp_path / "var"
    env = env_for(DATABASE_URL=None, REDIS_URL=None, RTBF_DATA_DIR=str(data_dir), RTBF_ENVIRONMENT="development")
    run_python("from app.core.config import get_settings\nfrom app.core.migrate import upgrade\n"
               "upgrade(str(get_settings().database_url))", env)
    request_id = _request_id(run_python(CREATE_AND_COMMIT, env))
    assert list((data_dir / "broker" / "queue").iterdir()), "the task was not written to the filesystem broker"
    database = f"sqlite:///{data_dir / 'rtbf.sqlite3'}"
    # A job id that does not exist: the engine task is a quick no-op ("skipped"), no model needed.
    run_python(f"from workers.celery_app import celery_app\n"
               f"celery_app.send_task({DISCOVER_TASK!r}, args=['{uuid.uuid4()}'], queue={GPU_QUEUE!r})", env)
    engine_log, email_log = tmp_path / "engine.log", tmp_path / "email.log"
    with engine_worker(env, engine_log) as engine, email_worker(env, email_log) as mailer:
        wait_until(lambda: _outbox_state(database, request_id)[0][1] == "outbox", timeout=60,
                   what="the email task to run", proc=mailer, log_path=email_log)
        wait_until(lambda: "'skipped'" in engine_log.read_text(errors="replace"), timeout=60,
                   what="the engine task to run", proc=engine, log_path=engine_log)
    # Each took its own queue's task only (the banner lists every task name, the received line adds "[id]").
    engine_text, email_text = engine_log.read_text(errors="replace"), email_log.read_text(errors="replace")
    assert f"{DISCOVER_TASK}[" in engine_text and f"{SEND_EMAIL_TASK}[" not in engine_text
    assert f"{SEND_EMAIL_TASK}[" in email_text and f"{DISCOVER_TASK}[" not in email_text
    assert not list((data_dir / "broker" / "queue").glob("*.msg"))


def test_tasks_are_sent_only_after_commit(session, settings: Settings) -> None:
    queue_dir = settings.broker_dir / "queue"

    def queued_ids() -> set[str]:
        found: set[str] = set()
        for path in queue_dir.glob("*.msg") if queue_dir.exists() else []:
            payload = json.loads(path.read_text())
            args = json.loads(base64.b64decode(payload["body"]))[0]
            found.update(args)
        return found

    data = RequestCreate(full_name="Ada Lovelace", email="ada@example.org")
    service.create_request(session=session, data=data, channel="web")
    message_id = session.execute(text("SELECT id FROM outbox_messages ORDER BY created_at DESC LIMIT 1")).scalar_one()
    session.flush()
    assert message_id not in queued_ids()
    session.rollback()
    assert message_id not in queued_ids()  # rolled back: never sent

    service.create_request(session=session, data=data, channel="web")
    message_id = session.execute(text("SELECT id FROM outbox_messages ORDER BY created_at DESC LIMIT 1")).scalar_one()
    assert message_id not in queued_ids()
    session.commit()
    assert message_id in queued_ids()
