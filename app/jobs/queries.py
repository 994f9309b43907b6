"""Reads of job state that the job's two sides and the model registry share: load a job, what a finished
discovery found, which requests a model version serves, whether a model has an unlearning job open.

Its own module so that ``app.targets.service`` (restoring a version asks the last two) can use it while the job
services use the registry: nothing here imports another domain's service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.jobs.models import ACTIVE_JOB_STATUSES, Job, JobKind, JobRequest, JobStatus


@dataclass(frozen=True)
class Findings:
    """What a finished discovery found for one request (redacted numbers; examples need ``service.decrypt_report``)."""

    job: Job
    link: JobRequest

    @property
    def report(self) -> dict[str, Any]:
        return self.link.report_redacted or {}

    def attributes(self, verdict: str) -> list[str]:
        found = {f["attribute"] for f in self.report.get("findings", []) if f.get("verdict") == verdict}
        return sorted(found)

    @property
    def confirmed(self) -> list[str]:
        return self.attributes("confirmed")

    @property
    def candidates(self) -> list[str]:
        return [a for a in self.attributes("candidate") if a not in self.confirmed]


def get_job(*, session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.", details={"job_id": job_id})
    return job


def latest_findings(*, session: Session, request_id: str) -> Findings | None:
    """The most recent successful discovery of the request on its model's current version, if any."""
    stmt = (select(Job, JobRequest).join(JobRequest)
            .where(JobRequest.request_id == request_id, Job.kind == JobKind.discovery,
                   Job.status == JobStatus.succeeded)
            .order_by(Job.finished_at.desc()))
    for job, link in session.execute(stmt):
        if job.base_version.number == job.target_model.current_number:
            return Findings(job=job, link=link)
    return None


def requests_served_by(*, session: Session, version_id: str) -> list[str]:
    stmt = (select(JobRequest.request_id).join(Job)
            .where(Job.result_version_id == version_id, JobRequest.served.is_not(False))
            .order_by(JobRequest.position))
    return list(session.scalars(stmt))


def active_unlearning(*, session: Session, model_id: str) -> Job | None:
    """The model's queued or running unlearning job, if any (at most one: ``service._no_unlearning_on``)."""
    return session.scalar(select(Job).where(Job.target_model_id == model_id, Job.kind == JobKind.unlearning,
                                            Job.status.in_(ACTIVE_JOB_STATUSES)).limit(1))
