"""How a job's state changes, for both of its sides: the web's (``service``: start, cancel) and the worker's
(``outcomes``: claim, progress, finish). Every state change of a job is an audit entry on each request it serves;
request statuses move only through ``requests.service.transition``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.db import utcnow
from app.core.logging import get_logger
from app.core.security import sha256_hex
from app.jobs.models import Job, JobKind, JobStatus
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus

log = get_logger(__name__)


def audit_job(session: Session, job: Job, event: str, actor: str, **details: Any) -> None:
    base = {"job_id": job.id, "kind": job.kind.value, "model_id": job.target_model_id,
            "version": job.base_version.number, "base_weights_sha256": job.base_version.weights_sha256}
    if job.method:
        base["method"] = job.method
    for request_id in job.request_ids:
        audit_service.append(session=session, event=f"job.{job.kind.value}.{event}", actor=actor,
                             request_id=request_id, details={**base, **details})


def set_request_status(session: Session, request: ErasureRequest, new: RequestStatus, actor: str,
                       **details: Any) -> None:
    if request.status != new:
        request_service.transition(session=session, request=request, new_status=new, actor=actor, **details)
        if new == RequestStatus.failed:
            alert_officers(session, request, job_id=details.get("job_id"))


def alert_officers(session: Session, request: ErasureRequest, *, job_id: str | None) -> None:
    """Email every active officer that a request needs a new attempt (the subject's page says the team was
    alerted): the reference and where to look, no personal data. The queue flags it as well."""
    from sqlalchemy import select

    from app.core.config import get_settings
    from app.notifications import service as notification_service
    from app.officers.models import Officer

    base = get_settings().base_url.rstrip("/")
    for officer in session.scalars(select(Officer).where(Officer.active.is_(True)).order_by(Officer.email)):
        notification_service.queue_email(session=session, request=request, kind="attempt_failed",
                                         to_address=officer.email,
                                         context={"url": f"{base}/officer/requests/{request.id}",
                                                  "job_url": f"{base}/officer/jobs/{job_id}" if job_id else None})


def release_requests(session: Session, job: Job, actor: str, *, failed_reason: str | None) -> None:
    """Put each request back where the officer can act again after a job ends without success."""
    for link in job.requests:
        request = request_service.get_request(session=session, request_id=link.request_id)
        if job.kind == JobKind.discovery:
            if request.status == RequestStatus.discovering:
                set_request_status(session, request, RequestStatus.approved, actor, job_id=job.id)
        elif request.status in (RequestStatus.unlearning, RequestStatus.verifying):
            new = RequestStatus.failed if failed_reason is not None else RequestStatus.approved
            extra = {"reason_sha256": sha256_hex(failed_reason)} if failed_reason else {}
            set_request_status(session, request, new, actor, job_id=job.id, **extra)


def finish_job(session: Session, job: Job, status: JobStatus, actor: str, *, now: datetime | None = None,
               error: str | None = None, **details: Any) -> None:
    job.status, job.finished_at = status, now or utcnow()
    if error is not None:
        error = job.error = error[:4000]  # the audit commits to exactly the stored text
    session.flush()
    if error:
        details["error_sha256"] = sha256_hex(error)
    audit_job(session, job, status.value, actor, **details)
    release_requests(session, job, actor, failed_reason=error if status == JobStatus.failed else None)
    log.info(f"job.{job.kind.value}.{status.value}", job_id=job.id, actor=actor)
