"""Discovery and unlearning jobs on a real prefork Celery worker (Redis, a fresh PostgreSQL, the tiny model).

The test process plays the web side: it files and approves a request for a person the tiny model memorised,
starts jobs through ``app.jobs.service`` and commits, which sends the task to Redis. The engine worker
subprocess is started with the command ``rtbf up`` uses (queue gpu, ``--pool prefork --concurrency 1``, max one
task per child). Then the worker is killed in the middle of a job, twice: its pool process only, and the whole
worker. Beside it, the email worker (queue default) delivers while a job runs.
"""

from __future__ import annotations

import hashlib
import json
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from worker_helpers import children_of, kill_quietly, ready, wait_until

from app.core import registry  # noqa: F401  (all models mapped)
from app.core import tasks as core_tasks
from app.core.queues import GPU_QUEUE
from app.jobs import service as jobs
from app.jobs.models import Job, JobStatus
from app.notifications.models import OutboxMessage
from app.notifications.service import SEND_EMAIL_TASK
from app.requests import service as requests
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from tests.job_stack import OFFICER, Stack, personal

# One worker subprocess at a time on the 2 shared cores: xdist keeps this group on one process.
pytestmark = pytest.mark.xdist_group("engine-worker")



def test_discovery_then_unlearning_on_a_prefork_worker(stack: Stack) -> None:
    request_id, person = stack.file_request()
    missing = str(uuid.uuid4())
    with stack.worker() as proc:
        # A task for a job that does not exist (a deleted row, a stale message) is a no-op.
        core_tasks.task_sender().send_task(jobs.DISCOVER_TASK, args=[missing], queue=GPU_QUEUE)
        wait_until(lambda: "'skipped'" in stack.log_path.read_text(errors="replace"), timeout=60,
                   what="the task for a missing job to be skipped", proc=proc, log_path=stack.log_path)

        # a. discovery
        with stack.db() as session:
            job_id = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER).id
        assert stack.request_status(request_id) == RequestStatus.discovering
        seen: list[dict[str, Any]] = []
        job = stack.wait_for_job(job_id, proc, seen=seen)
        assert job.status == JobStatus.succeeded, job.error
        assert job.attempts == 1 and job.worker.startswith("rtbf@") and job.finished_at >= job.started_at
        assert stack.request_status(request_id) == RequestStatus.approved
        assert any(p.get("stage", "").startswith("probe.") for p in seen), seen  # live progress was written
        assert job.progress["stage"] == "done"
        link = job.requests[0]
        full = jobs.decrypt_report(link)
        assert full["model_sha256"] == job.base_version.weights_sha256
        assert any(person["email"] in f["completion"] for f in full["findings"])  # the tiny model leaks it
        assert all("completion" not in f and "prompt" not in f for f in link.report_redacted["findings"])
        redacted_text = json.dumps(link.report_redacted)
        assert not any(value in redacted_text for value in personal(person))
        assert link.report_sha256 == hashlib.sha256(
            json.dumps(link.report_redacted, sort_keys=True, default=str).encode()).hexdigest()
        with stack.db() as session:
            findings = jobs.latest_findings(session=session, request_id=request_id)
            assert "email" in findings.confirmed
            events = [e.event for e in stack.events(request_id)]
        assert events.index("job.discovery.started") < events.index("job.discovery.succeeded")

        # b. unlearning with the product's default method (fpga). Removing the email alone passes verification
        # on the tiny model today (all six attributes at once fail it); either outcome is checked below.
        with stack.db() as session:
            unlearn_id = jobs.start_unlearning(session=session, request_ids=[request_id], actor=OFFICER,
                                               attributes={request_id: ["email"]}, params={"seed": 0}).id
        seen = []
        job = stack.wait_for_job(unlearn_id, proc, seen=seen)
        assert {p["stage"] for p in seen} & {"unlearn", "discover", "verify", "data"}, seen

    assert job.evidence is not None and job.output_dir
    evidence_file = Path(job.output_dir) / "evidence.json"
    assert job.evidence_sha256 == hashlib.sha256(evidence_file.read_bytes()).hexdigest()
    assert job.evidence == json.loads(evidence_file.read_text())
    assert not any(value in json.dumps(job.evidence) for value in personal(person))
    passed = job.evidence["verdict"]["passed"]
    events = stack.events(request_id)
    if passed:
        assert job.status == JobStatus.succeeded and job.error is None
        assert stack.request_status(request_id) == RequestStatus.completed
        versions = job.target_model.versions
        assert [v.number for v in versions] == [1, 2] and job.target_model.current_number == 2
        assert versions[1].parent_id == versions[0].id and job.result_version_id == versions[1].id
        assert versions[1].weights_sha256 == job.evidence["weights"]["result_sha256"]
        with stack.db() as session:
            kinds = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == request_id))
            assert "completed" in list(kinds)
        done = next(e for e in events if e.event == "job.unlearning.succeeded")
    else:
        assert job.status == JobStatus.failed and job.result_version_id is None
        assert job.error == "Verification failed: " + "; ".join(job.evidence["verdict"]["reasons"])
        assert stack.request_status(request_id) == RequestStatus.failed
        assert job.target_model.current_number == 1
        done = next(e for e in events if e.event == "job.unlearning.failed")
    assert done.details["evidence_sha256"] == job.evidence_sha256
    assert "erasure.verifying" in [e.event for e in events]  # the verify stage moved the request
    stack.assert_log_clean(person)


def _running_with_progress(stage_prefix: str) -> Callable[[Job], bool]:
    return lambda job: (not job.active) or (job.status == JobStatus.running
                                            and str(job.progress.get("stage", "")).startswith(stage_prefix))


def _start_slow_unlearning(stack: Stack, request_id: str, max_steps: int = 2000) -> str:
    # A tiny learning rate removes nothing, so the early stop never fires and all max_steps would run.
    with stack.db() as session:
        return jobs.start_unlearning(session=session, request_ids=[request_id], actor=OFFICER,
                                     params={"max_steps": max_steps, "lr": 1e-6}).id


def test_cancel_stops_a_running_unlearning_job(stack: Stack) -> None:
    request_id, person = stack.file_request()
    with stack.worker() as proc:
        assert stack.discover(request_id, proc).status == JobStatus.succeeded
        job_id = _start_slow_unlearning(stack, request_id)
        job = stack.wait_for_job(job_id, proc, until=_running_with_progress("unlearn"))
        assert job.status == JobStatus.running and job.progress["step"] >= 0
        with stack.db() as session:  # the officer's session, not the worker's
            jobs.cancel(session=session, job_id=job_id, actor=OFFICER)
        job = stack.wait_for_job(job_id, proc, timeout=60)
    assert job.status == JobStatus.canceled and job.canceled_by == OFFICER, job.error
    # Stopped in training (a step, or the early-stop probe between steps), long before its 2000 steps.
    stage = job.progress["stage"]
    assert stage == "unlearn" and job.progress["step"] < 2000 or stage.startswith("check/"), job.progress
    assert stack.request_status(request_id) == RequestStatus.approved
    events = [e.event for e in stack.events(request_id)]
    assert events.index("job.unlearning.cancel_requested") < events.index("job.unlearning.canceled")
    assert job.target_model.current_number == 1
    # The engine removed what the canceled run had written.
    assert not list((Path(stack.env["RTBF_DATA_DIR"]) / "jobs" / job_id).rglob("*.safetensors"))
    stack.assert_log_clean(person)


def test_a_killed_pool_process_is_retried(stack: Stack) -> None:
    """SIGKILL of the prefork child mid-job: acks_late + reject_on_worker_lost redeliver the task, and the
    next claim sees the job still running and gives it its second (last) attempt."""
    request_id, person = stack.file_request()
    with stack.worker() as proc:
        assert stack.discover(request_id, proc).status == JobStatus.succeeded
        job_id = _start_slow_unlearning(stack, request_id, max_steps=20)  # the second attempt runs to its end
        # Killed once the engine runs (past "starting", i.e. the model is loaded and it reports progress).
        job = stack.wait_for_job(job_id, proc, until=lambda j: j.status == JobStatus.running
                                 and j.progress.get("stage") not in (None, "starting"))
        assert job.status == JobStatus.running and job.attempts == 1
        (child,) = children_of(proc.pid)
        kill_quietly(child, signal.SIGKILL)
        job = stack.wait_for_job(job_id, proc)
        assert proc.poll() is None  # the worker itself lived on, with a new pool process
    assert job.attempts == 2, (job.status, job.error)
    assert job.status in (JobStatus.succeeded, JobStatus.failed)
    if job.status == JobStatus.failed:
        assert job.error.startswith("Verification failed"), job.error
    retried = [e for e in stack.events(request_id) if e.event == "job.unlearning.retried"]
    assert len(retried) == 1 and retried[0].details["attempt"] == 2
    assert job.output_dir.endswith("attempt-2")
    assert stack.request_status(request_id) in (RequestStatus.completed, RequestStatus.failed)
    stack.assert_log_clean(person)


def test_a_killed_worker_restarted_under_its_name_fails_the_job(stack: Stack) -> None:
    """SIGKILL of the whole worker (main process and pool child) mid-job: nothing acknowledges or requeues
    the task, so the restarted worker (same node name) fails the job at start; the request stays usable."""
    request_id, person = stack.file_request()
    name = f"gpu-{uuid.uuid4().hex[:8]}@testhost"
    with stack.worker(hostname=name) as proc:
        with stack.db() as session:
            job_id = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER).id
        stack.wait_for_job(job_id, proc, until=_running_with_progress("probe."))
        children = children_of(proc.pid)
        kill_quietly(proc.pid, signal.SIGKILL)  # the main process first, so it cannot requeue anything
        for child in children:
            kill_quietly(child, signal.SIGKILL)
        proc.wait(timeout=20)
    job = stack.job(job_id)
    assert job.status == JobStatus.running and job.worker == name  # nobody knows yet

    with stack.worker(hostname=name) as proc:
        job = stack.wait_for_job(job_id, proc, timeout=90)
    assert job.status == JobStatus.failed and job.attempts == 1
    assert job.error == "The worker was restarted while running this job; start it again."
    assert stack.request_status(request_id) == RequestStatus.approved  # discovery can be started again
    failed = next(e for e in stack.events(request_id) if e.event == "job.discovery.failed")
    assert failed.actor == "system" and "error_sha256" in failed.details
    stack.assert_log_clean(person)


def test_a_job_whose_worker_went_silent_is_failed_by_the_next_worker(stack: Stack) -> None:
    """A worker lost with its machine never restarts under its name: the next worker to start (or to take a
    task) fails jobs whose heartbeat is older than ``job_stale_after_s``."""
    request_id, _person = stack.file_request()
    with stack.db() as session:
        job = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER)
        jobs.claim(session=session, job_id=job.id, worker="celery@lost-machine")
        job_id = job.id
    stack.env["RTBF_JOB_STALE_AFTER_S"] = "1"  # the worker takes longer than that to start
    with stack.worker() as proc:
        job = stack.wait_for_job(job_id, proc, timeout=90)
    assert job.status == JobStatus.failed and "stopped reporting progress" in job.error
    assert stack.request_status(request_id) == RequestStatus.approved


def test_a_job_whose_request_cannot_be_read_fails_with_a_reason(stack: Stack) -> None:
    """The plan is read after the claim committed: if it cannot be (here a ciphertext that no longer decrypts),
    the job fails rather than staying running, and the log names the error type, not the data."""
    request_id, person = stack.file_request()
    with stack.db() as session:
        request = requests.get_request(session=session, request_id=request_id)
        request.name_enc = b"\x00" * 40  # not AES-GCM under our key any more
        job_id = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER).id
    with stack.worker() as proc:
        job = stack.wait_for_job(job_id, proc, timeout=90)
    assert job.status == JobStatus.failed and job.attempts == 1
    assert job.error.startswith("Internal error in the worker (") and job_id in job.error
    assert stack.request_status(request_id) == RequestStatus.approved
    log = stack.log_path.read_text(errors="replace")
    assert "job.discovery.crashed" in log and '"error_type": "' in log
    stack.assert_log_clean(person)


@pytest.mark.parametrize(("soft", "hard", "message"), [
    ("2", "120", "The job ran past its time limit (2 s) and was stopped."),
    ("0", "3", "The job ran past its hard time limit (3 s); the worker process was stopped."),  # no soft limit
])
def test_time_limits_from_settings_end_the_job(stack: Stack, soft: str, hard: str, message: str) -> None:
    """The soft limit is caught in the task; the hard one kills the pool process, and the main process
    records it (the message is acknowledged, so no redelivery would ever end the job)."""
    request_id, person = stack.file_request()
    stack.env.update(RTBF_JOB_SOFT_TIME_LIMIT_S=soft, RTBF_JOB_TIME_LIMIT_S=hard)
    with stack.db() as session:
        job_id = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER).id
    with stack.worker() as proc:
        job = stack.wait_for_job(job_id, proc, timeout=90)
    assert job.status == JobStatus.failed and job.error == message and job.attempts == 1
    assert stack.request_status(request_id) == RequestStatus.approved
    stack.assert_log_clean(person)


def _web_request(stack: Stack, email: str) -> str:
    """A request filed on the web form: its one-time verification code is the email the subject waits for."""
    with stack.db() as session:
        return requests.create_request(session=session, data=RequestCreate(full_name="Ada Lovelace", email=email),
                                       channel="web").request.id


def _delivered(stack: Stack, request_id: str) -> bool:
    with stack.db() as session:
        sent = session.scalars(select(OutboxMessage.sent_at).where(OutboxMessage.request_id == request_id))
        return any(at is not None for at in sent)


def _pool_process(proc: Any) -> int:
    (child,) = children_of(proc.pid)  # concurrency 1
    return child


def test_an_email_goes_out_while_the_engine_worker_runs_a_job(stack: Stack, tmp_path: Path) -> None:
    """The verification code must not wait for an unlearning job; the engine worker takes a fresh process per
    job (gives a job's GPU memory back), the email worker keeps its process from one email to the next."""
    request_id, person = stack.file_request()
    email_log = tmp_path / "email-worker.log"
    with stack.worker() as engine, stack.email_worker(email_log) as mailer:
        with stack.db() as session:
            discovery_id = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER).id
        stack.wait_for_job(discovery_id, engine, until=_running_with_progress("probe."))
        discovery_process = _pool_process(engine)
        assert stack.wait_for_job(discovery_id, engine).status == JobStatus.succeeded

        job_id = _start_slow_unlearning(stack, request_id)
        assert stack.wait_for_job(job_id, engine, until=_running_with_progress("unlearn")).active
        assert _pool_process(engine) != discovery_process  # a fresh process for the second job
        wait_until(lambda: ready(email_log), timeout=60, what="the email worker", proc=mailer, log_path=email_log)
        mail_process = _pool_process(mailer)

        for address in ("ada@example.org", "ada.lovelace@example.org"):
            web_request = _web_request(stack, address)
            wait_until(lambda request=web_request: _delivered(stack, request), timeout=60,
                       what="the verification email", proc=mailer, log_path=email_log)
            assert stack.job(job_id).status == JobStatus.running  # delivered while the job runs
        assert _pool_process(mailer) == mail_process  # both emails in one pool process

        with stack.db() as session:
            jobs.cancel(session=session, job_id=job_id, actor=OFFICER)
        assert stack.wait_for_job(job_id, engine, timeout=60).status == JobStatus.canceled
    log = email_log.read_text(errors="replace")
    assert f"{jobs.DISCOVER_TASK}[" not in log and "ada@example.org" not in log and "Ada Lovelace" not in log
    assert f"{SEND_EMAIL_TASK}[" not in stack.log_path.read_text(errors="replace")  # the engine worker took no email
    stack.assert_log_clean(person)


def test_only_the_engine_worker_recovers_jobs_at_start(stack: Stack, tmp_path: Path) -> None:
    """worker_ready recovery keys on the node name and runs only in a worker that takes jobs: an email worker
    (even under the name of the job's worker, and with every heartbeat stale) leaves running jobs alone."""
    request_id, _person = stack.file_request()
    name = f"gpu-{uuid.uuid4().hex[:8]}@testhost"
    with stack.db() as session:
        job = jobs.start_discovery(session=session, request_id=request_id, actor=OFFICER)
        jobs.claim(session=session, job_id=job.id, worker=name)
        job_id = job.id
    stack.env["RTBF_JOB_STALE_AFTER_S"] = "1"
    email_log = tmp_path / "email-worker.log"
    with stack.email_worker(email_log, hostname=name) as mailer:
        wait_until(lambda: ready(email_log), timeout=60, what="the email worker", proc=mailer, log_path=email_log)
        assert stack.job(job_id).status == JobStatus.running
    with stack.worker(hostname=name) as engine:
        job = stack.wait_for_job(job_id, engine, timeout=90)
    assert job.status == JobStatus.failed
    assert job.error == "The worker was restarted while running this job; start it again."
