"""Turn target models and jobs into API responses (redacted findings only)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.api.schemas import JobRead, JobRequestRead, ModelDetail, ModelRead, ModelVersionRead
from app.jobs import service as jobs_service
from app.jobs.models import Job
from app.targets.models import TargetModel


def model_read(model: TargetModel) -> ModelRead:
    current = model.current
    return ModelRead(id=model.id, name=model.name, description=model.description, corpus=model.corpus_path,
                     current_version=model.current_number, current_weights_sha256=current.weights_sha256,
                     created_by=model.created_by, created_at=model.created_at)


def model_detail(model: TargetModel, session: Session) -> ModelDetail:
    numbers = {v.id: v.number for v in model.versions}
    versions = [ModelVersionRead(id=v.id, number=v.number, parent_number=numbers.get(v.parent_id or ""),
                                 origin=v.origin, weights_sha256=v.weights_sha256, path=v.path,
                                 created_by=v.created_by, created_at=v.created_at,
                                 current=v.number == model.current_number,
                                 requests_served=jobs_service.requests_served_by(session=session, version_id=v.id))
                for v in model.versions]
    return ModelDetail(**model_read(model).model_dump(), versions=versions)


def job_read(job: Job) -> JobRead:
    links = []
    for link in job.requests:
        found = jobs_service.Findings(job=job, link=link)
        links.append(JobRequestRead(request_id=link.request_id, attributes=link.attributes,
                                    report_sha256=link.report_sha256, confirmed=found.confirmed,
                                    candidates=found.candidates,
                                    confirmed_rate=found.report.get("confirmed_rate")))
    return JobRead(id=job.id, kind=job.kind.value, status=job.status.value, model_id=job.target_model_id,
                   model_name=job.target_model.name, base_version=job.base_version.number,
                   result_version=job.result_version.number if job.result_version else None, method=job.method,
                   params=dict(job.params or {}), progress=dict(job.progress or {}), error=job.error,
                   attempts=job.attempts, max_attempts=job.max_attempts, created_by=job.created_by,
                   created_at=job.created_at, started_at=job.started_at, heartbeat_at=job.heartbeat_at,
                   finished_at=job.finished_at, cancel_requested_at=job.cancel_requested_at,
                   evidence_sha256=job.evidence_sha256, requests=links)
