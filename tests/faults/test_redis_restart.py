"""Redis restarted while a job runs and another waits in its queue, on a private ``redis-server`` (never the shared
one), a real prefork engine worker and the tiny model.

The restart is the harsh one: ``redis-server`` without persistence, stopped and started on the same port, so it
comes back empty, as a Redis whose data was lost does (the deployed one appends to a file, docker-compose.yml, and
loses only what it had not yet written). The running job's message and the waiting job's message are gone. The
running job still ends (the worker keeps it running and reconnects); the waiting one must not stay queued for ever:
when the worker's consumer connects again it sends the task of every queued job again, and a duplicate is claimed
once. PostgreSQL keeps every request and job; new jobs flow after the restart.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from fault_helpers import engine_worker_group, running_at

from app.audit import service as audit_service
from app.jobs import service as jobs
from app.jobs.models import JobStatus
from app.requests.statuses import RequestStatus
from tests.job_stack import Stack
from tests.live_server import free_port

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed: the test restarts a "
                                                             "Redis of its own, never the shared one")


class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port, without persistence, that can be restarted."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.folder)]
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def holds(self, job_id: str) -> bool:
        """Whether any key of this Redis (the queues, the unacknowledged messages) mentions ``job_id``."""
        client = redis.Redis(port=self.port)
        try:
            for key in client.scan_iter():
                kind = client.type(key)
                values = (client.lrange(key, 0, -1) if kind == b"list" else client.hvals(key) if kind == b"hash"
                          else [])
                if any(job_id.encode() in value for value in values):
                    return True
            return False
        finally:
            client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = PrivateRedis(folder)
    server.start()
    yield server
    server.stop()


@contextmanager
def _worker(stack: Stack) -> Iterator[subprocess.Popen[bytes]]:
    with engine_worker_group(stack.env, stack.log_path, hostname=f"gpu-{uuid.uuid4().hex[:8]}@testhost") as proc:
        yield proc


@pytest.mark.slow
@pytest.mark.xdist_group("engine-worker")
def test_jobs_survive_a_redis_restart_that_loses_the_queue(make_stack: Callable[[str], Stack],
                                                            private_redis: PrivateRedis) -> None:
    stack = make_stack(private_redis.url)
    (first, person), (second, _) = stack.file_request(), stack.file_request()
    with _worker(stack) as proc:
        running_id = stack.start_discovery(first)
        stack.wait_for_job(running_id, proc, until=running_at("probe."))
        waiting_id = stack.start_discovery(second)  # the one worker slot is busy: this task waits in Redis
        assert private_redis.holds(waiting_id)

        private_redis.restart()
        # Came back empty. (The running job's message may come back: the worker puts what it holds unacknowledged
        # back when it loses the connection, should the new server be up by then. It is then skipped: job ended.)
        assert not private_redis.holds(waiting_id)

        running = stack.wait_for_job(running_id, proc)
        assert running.status == JobStatus.succeeded and running.attempts == 1, running.error
        waiting = stack.wait_for_job(waiting_id, proc)
        assert waiting.status == JobStatus.succeeded and waiting.attempts == 1, waiting.error

        # New work flows through the restarted Redis, from the web side's sender to the worker.
        after_id = stack.start_discovery(first)
        after = stack.wait_for_job(after_id, proc)
        assert after.status == JobStatus.succeeded and after.attempts == 1, after.error

    for request_id in (first, second):
        assert stack.request_status(request_id) == RequestStatus.approved
        events = [e.event for e in stack.events(request_id)]
        assert events.count("job.discovery.started") == events.count("job.discovery.succeeded") >= 1
        assert "job.discovery.retried" not in events  # each job ran once, though its task was sent twice
    with stack.db() as session:
        assert audit_service.verify_chain(session=session).ok
    stack.assert_log_clean(person)


def test_a_second_message_for_a_claimed_job_is_not_a_second_run(stack: Stack) -> None:
    """The task of a queued job sent again (above) while its first message is still on its way: whichever claims
    first runs it; the other is skipped unless it is the same message redelivered (its worker died)."""
    request_id, _ = stack.file_request()
    job_id = stack.start_discovery(request_id)
    with stack.db() as session:
        assert jobs.claim(session=session, job_id=job_id, worker="celery@a", task_id="task-1") is not None
    with stack.db() as session:
        assert jobs.claim(session=session, job_id=job_id, worker="celery@b", task_id="task-2") is None
    job = stack.job(job_id)
    assert job.status == JobStatus.running and job.attempts == 1 and job.worker == "celery@a"
    with stack.db() as session:  # the first message again: its worker was lost, this is its redelivery
        assert jobs.claim(session=session, job_id=job_id, worker="celery@b", task_id="task-1") is not None
    job = stack.job(job_id)
    assert job.attempts == 2 and job.worker == "celery@b"
