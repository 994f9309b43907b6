"""The worker's side of a job: claim it, report progress, record how it ended, recover from lost workers.

Called by ``workers/tasks/engine_jobs.py`` in short transactions of their own (so the officer's page sees each
step); ``app.jobs.service`` re-exports these so callers use one service module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.logging import get_logger
from app.core.security import encrypt, sha256_hex
from app.jobs.lifecycle import audit_job, finish_job, release_requests, set_request_status
from app.jobs.models import Job, JobKind, JobStatus
from app.jobs.queries import Findings, get_job
from app.requests import service as request_service
from app.requests.statuses import RequestStatus
from app.targets import service as target_service

log = get_logger(__name__)


def claim(*, session: Session, job_id: str, worker: str, task_id: str | None = None,
          now: datetime | None = None) -> Job | None:
    """Mark the job running for ``worker``; ``None`` when there is nothing (more) to do.

    A job found already running was redelivered because its worker died (acks_late + reject_on_worker_lost):
    it gets another attempt, or fails with a clear reason once ``max_attempts`` is spent. A redelivery carries
    the task id of the claim; another task id is a second message for the job (its task sent again when a worker
    connected to the broker, ``workers/tasks/engine_jobs.py``), and the run that claimed it goes on alone.
    """
    now = now or utcnow()
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or not job.active:
        return None
    if job.cancel_requested_at is not None:
        finish_job(session, job, JobStatus.canceled, job.canceled_by or "system", now=now)
        return None
    if job.status == JobStatus.running and task_id and job.celery_task_id and task_id != job.celery_task_id:
        log.info("job.duplicate_task", job_id=job.id)
        return None
    if job.status == JobStatus.running:
        if job.attempts >= job.max_attempts:
            finish_job(session, job, JobStatus.failed, "system", now=now,
                       error=f"The worker running this job stopped before it finished ({job.attempts} attempts).")
            return None
        audit_job(session, job, "retried", "system", attempt=job.attempts + 1, previous_worker=job.worker or "")
    job.status, job.attempts = JobStatus.running, job.attempts + 1
    job.worker, job.celery_task_id = worker[:200], task_id
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.progress = {"stage": "starting", "step": 0, "message": "loading the model"}
    session.flush()
    if job.attempts == 1:
        audit_job(session, job, "started", "system", worker=job.worker)
    return job


def record_progress(*, session: Session, job_id: str, progress: dict[str, Any],
                    now: datetime | None = None) -> bool:
    """Store the latest progress event and beat the heart; return True when the worker should stop: the
    officer asked to cancel, or the job already ended (reaped as stale while its worker was still alive)."""
    job = get_job(session=session, job_id=job_id)
    if not job.active:
        return True
    job.progress = progress
    job.heartbeat_at = now or utcnow()
    if job.kind == JobKind.unlearning and progress.get("stage") == "verify":
        for link in job.requests:
            request = request_service.get_request(session=session, request_id=link.request_id)
            if request.status == RequestStatus.unlearning:
                set_request_status(session, request, RequestStatus.verifying, "system", job_id=job.id)
    session.flush()
    return job.cancel_requested_at is not None


def finish_canceled(*, session: Session, job_id: str) -> Job:
    job = get_job(session=session, job_id=job_id)
    if job.active:
        finish_job(session, job, JobStatus.canceled, job.canceled_by or "system")
    return job


def fail(*, session: Session, job_id: str, error: str, now: datetime | None = None) -> Job:
    job = get_job(session=session, job_id=job_id)
    if job.active:
        finish_job(session, job, JobStatus.failed, "system", now=now, error=error)
    return job


def complete_discovery(*, session: Session, job_id: str, reports: dict[str, tuple[dict[str, Any], dict[str, Any]]],
                       now: datetime | None = None) -> Job:
    """``reports`` maps request id -> (full report, redacted report). The full one is stored encrypted."""

    job = get_job(session=session, job_id=job_id)
    if not job.active:
        return job
    digests: list[str] = []
    for link in job.requests:
        full, redacted = reports[link.request_id]
        link.report_enc = encrypt(json.dumps(full, sort_keys=True, default=str))
        link.report_redacted = redacted
        link.report_sha256 = sha256_hex(json.dumps(redacted, sort_keys=True, default=str))
        digests.append(link.report_sha256)
    job.status, job.finished_at = JobStatus.succeeded, now or utcnow()
    job.progress = {**(job.progress or {}), "stage": "done", "message": "discovery finished"}
    session.flush()
    for link in job.requests:
        found = Findings(job=job, link=link)
        audit_service.append(session=session, event="job.discovery.succeeded", actor="system",
                             request_id=link.request_id,
                             details={"job_id": job.id, "model_id": job.target_model_id,
                                      "version": job.base_version.number,
                                      "base_weights_sha256": job.base_version.weights_sha256,
                                      "report_sha256": link.report_sha256, "confirmed": found.confirmed,
                                      "candidates": found.candidates})
    release_requests(session, job, "system", failed_reason=None)
    log.info("job.discovery.succeeded", job_id=job.id)
    return job


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None: PostgreSQL's json type refuses them (a diverged loss is NaN). The evidence_sha256 still
    commits to the file as written; bundles carry that text verbatim when the stored form differs."""

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def complete_unlearning(*, session: Session, job_id: str, passed: bool, evidence: dict[str, Any],
                        evidence_sha256: str, output_dir: str, model_dir: str, weights_sha256: str,
                        reasons: list[str], passed_requests: Collection[str] = (),
                        settings: Settings | None = None, now: datetime | None = None) -> Job:
    """Pass: a new model version serves the requests, which complete (subject emailed). Fail: they fail.

    A batch that failed only because some of its people still leak (``passed_requests``: the requests whose
    person passed every check, the model's own checks included) still puts the new version into service for
    those: they complete, the others fail with the reasons and can be tried again on the new version."""
    settings = settings or get_settings()
    job = get_job(session=session, job_id=job_id)
    if not job.active:
        return job
    job.evidence, job.evidence_sha256, job.output_dir = _json_safe(evidence), evidence_sha256, output_dir
    now = now or utcnow()
    completing = {link.request_id for link in job.requests} if passed else set(passed_requests)
    if not completing:
        # The evidence of a failed try is kept and committed to as well: it shows what was attempted.
        finish_job(session, job, JobStatus.failed, "system", now=now,
                   error="Verification failed: " + "; ".join(reasons or ["the removal could not be shown"]),
                   evidence_sha256=evidence_sha256)
        return job
    model = job.target_model
    if model.current.id != job.base_version_id:
        # The model moved on while the job ran (an officer restored a version): putting this result into service
        # would drop whatever the current version holds. start_unlearning and the restore keep this from
        # happening; this is the last line.
        finish_job(session, job, JobStatus.failed, "system", now=now, evidence_sha256=evidence_sha256,
                   error=f"The model's current version changed to version {model.current.number} while this job ran "
                         f"on version {job.base_version.number}; its result was not put into service. Run discovery "
                         "and unlearning again.")
        return job
    version = target_service.record_version(session=session, model=model, parent=job.base_version, path=model_dir,
                                            weights_sha256=weights_sha256, actor="system", job_id=job.id)
    job.result_version_id = version.id
    job.status, job.finished_at = JobStatus.succeeded, now
    left = [link.request_id for link in job.requests if link.request_id not in completing]
    message = "verified" if not left else f"verified for {len(completing)} of {len(job.requests)} requests"
    job.progress = {**(job.progress or {}), "stage": "done", "message": message}
    if left:
        job.error = ("Verification failed for part of the batch: " + "; ".join(reasons))[:4000]
    session.flush()
    audit_job(session, job, "succeeded", "system", evidence_sha256=evidence_sha256, result_version=version.number,
              result_weights_sha256=weights_sha256, failed_requests=len(left))
    for link in job.requests:
        link.served = link.request_id in completing
        request = request_service.get_request(session=session, request_id=link.request_id)
        if link.request_id not in completing:
            if request.status in (RequestStatus.unlearning, RequestStatus.verifying):
                set_request_status(session, request, RequestStatus.failed, "system", job_id=job.id,
                                   reason_sha256=sha256_hex(job.error or ""))
            continue
        if request.status == RequestStatus.unlearning:
            set_request_status(session, request, RequestStatus.verifying, "system", job_id=job.id)
        set_request_status(session, request, RequestStatus.completed, "system", job_id=job.id,
                           evidence_sha256=evidence_sha256, result_version=version.number)
        request_service.notify_subject(session=session, request=request, kind="completed", settings=settings,
                                       model_name=model.name, version=version.number)
    log.info("job.unlearning.succeeded", job_id=job.id, version=version.number)
    return job


def queued_jobs(*, session: Session) -> list[Job]:
    """The jobs waiting for a worker, oldest first."""
    return list(session.scalars(select(Job).where(Job.status == JobStatus.queued).order_by(Job.created_at)))


def reap_stale(*, session: Session, settings: Settings | None = None, now: datetime | None = None) -> list[str]:
    """Fail running jobs whose worker stopped beating (killed, machine lost): never 'running' forever."""
    settings = settings or get_settings()
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.job_stale_after_s)
    stale = list(session.scalars(select(Job).where(Job.status == JobStatus.running, Job.heartbeat_at < cutoff)))
    for job in stale:
        finish_job(session, job, JobStatus.failed, "system", now=now,
                   error=f"The worker stopped reporting progress (last at {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); "
                         "the job was abandoned. Start it again.")
    return [job.id for job in stale]


def worker_restarted(*, session: Session, worker: str, now: datetime | None = None) -> list[str]:
    """A worker that starts again under the same name cannot still be running its old jobs: fail them."""
    stmt = select(Job).where(Job.status == JobStatus.running, Job.worker == worker[:200])
    jobs = list(session.scalars(stmt))
    for job in jobs:
        finish_job(session, job, JobStatus.failed, "system", now=now,
                   error="The worker was restarted while running this job; start it again.")
    return [job.id for job in jobs]
