"""SIGKILL of the whole engine worker (its main process and the pool child at once, as the OOM killer or a lost
container does) in the middle of an unlearning job, on a real prefork worker, Redis and the tiny model.

What the code does, and why it is the safe choice: nothing acknowledges or requeues the task (Redis would hand it
out again only after the visibility timeout, beyond the hard time limit), so the worker started again under the
same node name (as ``rtbf up`` starts it) fails the job at once with a reason, rather than retrying it: a retry
there would run a job whose previous run nobody saw end. The request is put back where the officer can act
(unlearning failed -> ``failed``, from which a new job starts), and the next job runs to its end. (Only the pool
process dying is retried once: tests/workers/test_engine_jobs.py.)
"""

from __future__ import annotations

import time
import uuid

import pytest
from fault_helpers import engine_worker_group, kill_group, running_at

from app.jobs.models import JobStatus
from app.requests.statuses import RequestStatus
from tests.job_stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engine-worker")]

RESTART_REASON = "The worker was restarted while running this job; start it again."
RECOVERY_BOUND_S = 90  # the restarted worker's start-up (imports, Celery) on 2 busy cores; recovery itself is one query


def test_sigkill_of_the_worker_group_mid_unlearning_fails_the_job_and_the_next_job_runs(stack: Stack) -> None:
    request_id, person = stack.file_request()
    name = f"gpu-{uuid.uuid4().hex[:8]}@testhost"
    with engine_worker_group(stack.env, stack.log_path, hostname=name) as proc:
        discovery = stack.wait_for_job(stack.start_discovery(request_id), proc)
        assert discovery.status == JobStatus.succeeded, discovery.error
        # A tiny learning rate removes nothing, so training would run all its steps: it is still training when killed.
        job_id = stack.start_unlearning(request_id, max_steps=2000, lr=1e-6)
        job = stack.wait_for_job(job_id, proc, until=running_at("unlearn"))
        assert job.status == JobStatus.running, job.error
        kill_group(proc)
    job = stack.job(job_id)
    assert job.status == JobStatus.running and job.worker == name  # nobody knows yet
    assert stack.request_status(request_id) == RequestStatus.unlearning

    restarted = time.monotonic()
    with engine_worker_group(stack.env, stack.log_path, hostname=name) as proc:
        job = stack.wait_for_job(job_id, proc, timeout=RECOVERY_BOUND_S)
        assert time.monotonic() - restarted < RECOVERY_BOUND_S
        assert job.status == JobStatus.failed and job.attempts == 1 and job.result_version_id is None
        assert job.error == RESTART_REASON
        assert job.target_model.current_number == 1
        assert stack.request_status(request_id) == RequestStatus.failed  # unlearning may start again from here
        assert RESTART_REASON in stack.officer_page(f"/officer/jobs/{job_id}")
        assert "job.unlearning.failed" in [e.event for e in stack.events(request_id)]

        # The same worker takes the next job and runs it to its end (the discovery still holds: same version).
        next_id = stack.start_unlearning(request_id, max_steps=3)
        after = stack.wait_for_job(next_id, proc)
    assert after.attempts == 1 and after.evidence is not None, after.error
    if after.status == JobStatus.succeeded:
        assert stack.request_status(request_id) == RequestStatus.completed
        assert after.target_model.current_number == 2
    else:  # three steps may not be enough to pass verification; the job still ran to its verdict
        assert after.status == JobStatus.failed and after.error.startswith("Verification failed"), after.error
        assert stack.request_status(request_id) == RequestStatus.failed
    stack.assert_log_clean(person)
