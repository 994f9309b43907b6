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

    @property
    def reused(self) -> bool:
        """Made on an earlier version the current one descends from (another person's erasure made the new one):
        what the model revealed about this person then, it still holds."""
        return self.job.base_version.number != self.job.target_model.current_number

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
    """The most recent successful discovery of the request on its model's current version or on a version the
    current one was made from (``Findings.reused``), if any. Another person's erasure makes a new version: the
    request stays ready for its own job instead of waiting for a new discovery. Not after a version that carries
    this request's own erasure, nor after a restore to a version older than the findings."""
    stmt = (select(Job, JobRequest).join(JobRequest)
            .where(JobRequest.request_id == request_id, Job.kind == JobKind.discovery,
                   Job.status == JobStatus.succeeded)
            .order_by(Job.finished_at.desc()))
    for job, link in session.execute(stmt):
        since = _versions_since(job.target_model, job.base_version_id)
        if since is not None and not any(request_id in requests_served_by(session=session, version_id=v)
                                         for v in since):
            return Findings(job=job, link=link)
    return None


def _versions_since(model: Any, base_id: str) -> list[str] | None:
    """The versions made after ``base_id`` on the way to the current one (empty: it is current); None when the
    current version does not descend from it."""
    by_id = {v.id: v for v in model.versions}
    made: list[str] = []
    step = model.current
    while step is not None and step.id not in made:
        if step.id == base_id:
            return made
        made.append(step.id)
        step = by_id.get(step.parent_id) if step.parent_id else None
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
