"""The request id travels from the web to the worker: a task sent while an HTTP request is served carries the
request's id in its ``http_request_id`` header (on the real Redis broker), and the real worker binds it into the
task's log lines, for that task only."""

from __future__ import annotations

import json

import redis

from app.core.config import Settings
from app.core.queues import DEFAULT_QUEUE
from app.notifications.service import SEND_EMAIL_TASK
from tests.live_server import bearer_headers
from worker_helpers import cli_worker, env_for, run_python, wait_until

TRACE = "trace-celery-7"

# The web process (create_app, with the environment's settings: Redis) serving one createRequest.
FILE_OVER_HTTP = """
from fastapi.testclient import TestClient
from app.main import create_app
with TestClient(create_app()) as client:
    response = client.post('/api/v1/requests', headers={{'Authorization': {auth!r}, 'X-Request-ID': {trace!r}}},
                           json={{'full_name': 'Ada Lovelace', 'email': 'ada@example.org'}})
assert response.status_code == 201, response.text
print('REQUEST=' + response.json()['id'])
"""

# The same kind of task sent outside any HTTP request (a CLI, a script).
FILE_WITHOUT_HTTP = """
from app.core import registry
from app.core.config import get_settings
from app.core.db import make_engine, make_session_factory
from app.requests import service
from app.requests.schemas import RequestCreate
factory = make_session_factory(make_engine(str(get_settings().database_url)))
with factory() as db:
    service.create_request(session=db, data=RequestCreate(full_name='Grace Hopper', email='grace@example.org'),
                           channel='web')
    db.commit()
"""


def _events(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_task_sent_for_an_http_request_carries_its_id_to_the_worker_log(make_database, redis_url,
                                                                         settings: Settings, tmp_path) -> None:
    database = make_database()
    auth = bearer_headers(database, name="trace test", scopes=["requests:write"])["Authorization"]
    env = env_for(DATABASE_URL=database, REDIS_URL=redis_url, RTBF_DATA_DIR=str(settings.data_dir))
    run_python(FILE_OVER_HTTP.format(auth=auth, trace=TRACE), env)
    run_python(FILE_WITHOUT_HTTP, env)

    # On the broker: the message sent for the HTTP request names it; the other one names none.
    client = redis.Redis.from_url(redis_url)
    try:
        messages = [json.loads(raw) for raw in client.lrange(DEFAULT_QUEUE, 0, -1)]
    finally:
        client.close()
    headers = [m["headers"] for m in messages if m["headers"]["task"] == SEND_EMAIL_TASK]
    assert len(headers) == 2
    assert sorted(h.get("http_request_id") or "" for h in headers) == ["", TRACE]

    # In the worker: the traced task's log lines carry the id, and the next task's (same process) do not.
    log_path = tmp_path / "worker.log"
    with cli_worker(env, log_path, "--queues", DEFAULT_QUEUE, "--hostname", "mail@tracehost") as proc:
        wait_until(lambda: sum(e.get("event") == "email.delivered" for e in _events(log_path.read_text())) == 2,
                   timeout=60, what="both emails to be delivered", proc=proc, log_path=log_path)
    delivered = [e for e in _events(log_path.read_text()) if e.get("event") == "email.delivered"]
    assert sorted(str(e.get("http_request_id", "")) for e in delivered) == ["", TRACE]
