"""Job state of record: start, claim, progress, cancel, finish, fail, and recovery from lost workers.

The web side starts and cancels jobs (here); the worker side (``workers/tasks/engine_jobs.py``) claims a job by
id, reports progress in short transactions of its own and records the outcome (``outcomes``, re-exported here so
callers use one service module). Both change a job through ``lifecycle`` and read it through ``queries``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, IllegalTransition, InvalidInput
from app.core.logging import get_logger
from app.core.queues import GPU_QUEUE
from app.core.security import decrypt
from app.core.tasks import enqueue_after_commit
from app.jobs import attacks as attack_policy
from app.jobs.lifecycle import audit_job, finish_job, set_request_status
from app.jobs.methods import DEFAULT_METHOD, METHOD_CHOICES
from app.jobs.models import ACTIVE_JOB_STATUSES, Job, JobKind, JobRequest, JobStatus
from app.jobs.outcomes import (
    claim, complete_discovery, complete_unlearning, fail, finish_canceled, queued_jobs, reap_stale, record_progress,
    worker_restarted,
)
from app.jobs.queries import Findings, active_unlearning, get_job, latest_findings, requests_served_by
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus
from app.targets import service as target_service
from app.targets.models import TargetModel

log = get_logger(__name__)

DISCOVER_TASK = "rtbf.engine.discover"
UNLEARN_TASK = "rtbf.engine.unlearn"
# Discovery may run before the decision (to inform it); unlearning needs an approval (or a failed try).
DISCOVERABLE = frozenset({RequestStatus.pending_review, RequestStatus.approved, RequestStatus.failed})
UNLEARNABLE = frozenset({RequestStatus.approved, RequestStatus.failed})
MAX_BATCH = 20
# Engine knobs an officer or the API may set, with their bounds; everything else keeps the method's default.
PARAM_BOUNDS: dict[str, tuple[float, float]] = {"max_steps": (1, 2000), "lr": (1e-6, 0.5), "rank": (1, 64),
                                               "seed": (0, 2**31 - 1)}


def jobs_for_request(*, session: Session, request_id: str) -> list[Job]:
    stmt = (select(Job).join(JobRequest).where(JobRequest.request_id == request_id)
            .order_by(Job.created_at.desc()))
    return list(session.scalars(stmt))


def active_job(*, session: Session, request_id: str) -> Job | None:
    stmt = (select(Job).join(JobRequest).where(JobRequest.request_id == request_id,
                                               Job.status.in_(list(ACTIVE_JOB_STATUSES))))
    return session.scalars(stmt).first()


def decrypt_report(link: JobRequest) -> dict[str, Any] | None:
    import json

    return json.loads(decrypt(link.report_enc)) if link.report_enc else None


def earlier_erasures(*, session: Session, job: Job) -> list[tuple[ErasureRequest, list[str]]]:
    """The erasures the job's base version carries: completed requests served by it or by a version it descends
    from, with the attributes their job removed, oldest first. A new version must not give any of it back.
    The job's own requests are left out (they are its subjects)."""
    lineage = list(target_service.lineage(job.target_model, job.base_version))
    stmt = (select(JobRequest).join(Job)
            .where(Job.result_version_id.in_(lineage), Job.status == JobStatus.succeeded,
                   JobRequest.served.is_not(False), JobRequest.request_id.notin_(job.request_ids))
            .order_by(Job.finished_at, JobRequest.position))
    found: list[tuple[ErasureRequest, list[str]]] = []
    for link in session.scalars(stmt):
        request = request_service.get_request(session=session, request_id=link.request_id)
        if request.status == RequestStatus.completed and link.attributes:
            found.append((request, list(link.attributes)))
    return found


def _resolve_model(session: Session, request: ErasureRequest, model_id: str | None) -> TargetModel:
    if model_id:
        model = target_service.get_model(session=session, model_id=model_id)
    elif request.target_model_id:
        model = target_service.get_model(session=session, model_id=request.target_model_id)
    else:
        model = target_service.find_by_name(session=session, name=request.target_model)
        if model is None:
            models = target_service.list_models(session=session)
            if len(models) != 1:
                raise InvalidInput("Choose the model this request concerns.", details={"field": "model_id"})
            model = models[0]
    if request.target_model_id and request.target_model_id != model.id and active_job(
            session=session, request_id=request.id):
        raise Conflict("A job is running for this request on another model.")
    request.target_model_id = model.id
    return model


def _check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value in (None, ""):
            continue
        if key not in PARAM_BOUNDS:
            raise InvalidInput(f"Unknown setting {key!r}.", details={"field": key, "allowed": sorted(PARAM_BOUNDS)})
        low, high = PARAM_BOUNDS[key]
        try:
            number = float(value) if key == "lr" else int(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{key} must be a number.", details={"field": key}) from None
        if not low <= number <= high:
            raise InvalidInput(f"{key} must be between {low:g} and {high:g}.", details={"field": key})
        clean[key] = number
    return clean


def _no_active_job(session: Session, request: ErasureRequest) -> None:
    running = active_job(session=session, request_id=request.id)
    if running is not None:
        raise Conflict(f"Request {request.reference} already has a {running.kind.value} job {running.status.value}.",
                       details={"job_id": running.id})


def _no_unlearning_on(session: Session, model: TargetModel) -> None:
    """One unlearning job per model at a time. Each job starts from the current version and its result becomes
    the next one, so a second job started meanwhile would put a version into service that never had the first
    job's erasure, while the first job's requests stay completed. The model's row is locked first (PostgreSQL),
    so two officers starting jobs at the same moment cannot both pass the check."""
    session.execute(select(TargetModel.id).where(TargetModel.id == model.id).with_for_update())
    busy = active_unlearning(session=session, model_id=model.id)
    if busy is not None:
        raise Conflict(f"Model {model.name} already has an unlearning job {busy.status.value}: one new version at a "
                       "time. Wait for it to end (then run discovery again), or cancel it and put all the requests "
                       "in one batch.", details={"job_id": busy.id})


def start_discovery(*, session: Session, request_id: str, actor: str, model_id: str | None = None) -> Job:
    request = request_service.get_request(session=session, request_id=request_id)
    if request.status not in DISCOVERABLE:
        raise IllegalTransition(f"Discovery cannot run on a request that is {request.status.value}.",
                                details={"status": request.status.value})
    _no_active_job(session, request)
    model = _resolve_model(session, request, model_id)
    job = Job(id=str(uuid.uuid4()), kind=JobKind.discovery, status=JobStatus.queued, target_model=model,
              base_version=model.current, params={}, progress={}, created_by=actor,
              max_attempts=get_settings().job_max_attempts)
    job.requests.append(JobRequest(request_id=request.id, position=0))
    session.add(job)
    session.flush()
    if request.status != RequestStatus.pending_review:
        set_request_status(session, request, RequestStatus.discovering, actor, job_id=job.id)
    audit_job(session, job, "queued", actor)
    enqueue_after_commit(session, DISCOVER_TASK, job.id, queue=GPU_QUEUE)
    log.info("job.discovery.queued", job_id=job.id, request_id=request.id, actor=actor)
    return job


def start_unlearning(*, session: Session, request_ids: list[str], actor: str, method: str | None = None,
                     attributes: dict[str, list[str]] | None = None, params: dict[str, Any] | None = None,
                     attacks: list[str] | None = None, gating_attacks: list[str] | None = None) -> Job:
    """One job for one or more approved requests against the same model (a batch makes one new version).

    Each request needs a finished discovery on the model's current version; its attributes default to the
    confirmed leaks, and the officer may add candidates that discovery found (nothing else). The attack checks
    are the officer's setting unless ``attacks`` / ``gating_attacks`` override it (``app.jobs.attacks.for_job``);
    the job's params record the choice (``attacks``, ``gating_attacks``), which the worker passes to the engine."""
    method = method or DEFAULT_METHOD
    if method not in METHOD_CHOICES:
        raise InvalidInput(f"Unknown method {method!r}.", details={"field": "method", "allowed": list(METHOD_CHOICES)})
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        raise InvalidInput("Choose at least one request.", details={"field": "request_ids"})
    if len(ids) > MAX_BATCH:
        raise InvalidInput(f"At most {MAX_BATCH} requests fit in one job.", details={"field": "request_ids"})
    clean_params = _check_params(params)
    checks = attack_policy.for_job(session=session, attacks=attacks, gating_attacks=gating_attacks)
    clean_params.update(attacks=list(checks.attacks), gating_attacks=list(checks.gating))
    requests, links, models = [], [], set()
    for position, request_id in enumerate(ids):
        request = request_service.get_request(session=session, request_id=request_id)
        if request.status not in UNLEARNABLE:
            raise IllegalTransition(f"Request {request.reference} is {request.status.value}; unlearning needs an "
                                    "approved request.", details={"request_id": request.id})
        _no_active_job(session, request)
        findings = latest_findings(session=session, request_id=request.id)
        if findings is None:
            raise Conflict(f"Run discovery for {request.reference} on the model's current version first.",
                           details={"request_id": request.id})
        found = set(findings.confirmed) | set(findings.candidates)
        chosen = list((attributes or {}).get(request.id) or findings.confirmed)
        unknown = sorted(set(chosen) - found)
        if unknown:
            raise InvalidInput(f"Discovery did not find {', '.join(unknown)} for {request.reference}.",
                               details={"field": "attributes", "request_id": request.id})
        if not chosen:
            raise InvalidInput(f"Nothing to remove for {request.reference}: discovery found no leak. Include a "
                               "candidate or close the request.", details={"request_id": request.id})
        models.add(findings.job.target_model_id)
        requests.append(request)
        links.append(JobRequest(request_id=request.id, position=position, attributes=sorted(chosen)))
    if len(models) != 1:
        raise InvalidInput("All requests in one job must concern the same model.", details={"field": "request_ids"})
    model = target_service.get_model(session=session, model_id=models.pop())
    _no_unlearning_on(session, model)
    job = Job(id=str(uuid.uuid4()), kind=JobKind.unlearning, status=JobStatus.queued, target_model=model,
              base_version=model.current, method=method, params=clean_params, progress={}, created_by=actor,
              max_attempts=get_settings().job_max_attempts)
    job.requests.extend(links)
    session.add(job)
    session.flush()
    for request in requests:
        set_request_status(session, request, RequestStatus.unlearning, actor, job_id=job.id, method=method)
    audit_job(session, job, "queued", actor, batch_size=len(requests),
              attributes=sorted({a for link in links for a in link.attributes or []}),
              attacks=list(checks.attacks), gating_attacks=list(checks.gating))
    enqueue_after_commit(session, UNLEARN_TASK, job.id, queue=GPU_QUEUE)
    log.info("job.unlearning.queued", job_id=job.id, requests=len(requests), method=method, actor=actor)
    return job


def cancel(*, session: Session, job_id: str, actor: str, now: datetime | None = None) -> Job:
    """A queued job ends now; a running one is asked to stop and ends at the worker's next progress report."""
    job = get_job(session=session, job_id=job_id)
    if not job.active:
        raise Conflict(f"The job is already {job.status.value}.", details={"status": job.status.value})
    now = now or utcnow()
    job.canceled_by = actor
    if job.status == JobStatus.queued:
        finish_job(session, job, JobStatus.canceled, actor, now=now)
    elif job.cancel_requested_at is None:
        job.cancel_requested_at = now
        session.flush()
        audit_job(session, job, "cancel_requested", actor)
    return job


def close_without_findings(*, session: Session, request_id: str, actor: str,
                           settings: Settings | None = None) -> ErasureRequest:
    """approved -> completed when the latest discovery on the current version confirmed no leak."""
    settings = settings or get_settings()
    request = request_service.get_request(session=session, request_id=request_id)
    if request.status != RequestStatus.approved:
        raise IllegalTransition(f"Only an approved request can be closed; this one is {request.status.value}.")
    _no_active_job(session, request)
    findings = latest_findings(session=session, request_id=request.id)
    if findings is None:
        raise Conflict("Run discovery on the model's current version first.")
    if findings.confirmed:
        raise Conflict(f"Discovery found {', '.join(findings.confirmed)}: start unlearning instead.")
    model = findings.job.target_model
    set_request_status(session, request, RequestStatus.completed, actor, job_id=findings.job.id,
                       report_sha256=findings.link.report_sha256, outcome="nothing_found")
    request_service.notify_subject(session=session, request=request, kind="completed", settings=settings,
                                   model_name=model.name, version=model.current_number, nothing_found=True)
    return request


__all__ = [
    "DISCOVERABLE", "UNLEARNABLE", "Findings", "active_job", "active_unlearning", "cancel", "claim",
    "close_without_findings", "complete_discovery", "complete_unlearning", "decrypt_report", "earlier_erasures",
    "fail", "finish_canceled", "get_job", "jobs_for_request", "latest_findings", "queued_jobs", "reap_stale",
    "record_progress", "requests_served_by", "start_discovery", "start_unlearning", "worker_restarted",
]
