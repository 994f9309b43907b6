"""Discovery and unlearning jobs over the API (scope jobs:write; reading a job also with requests:read).

Starting a job answers 202 with the queued job; poll ``getJob`` for progress. Findings are redacted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.api.errors import actor
from app.api.schemas import DiscoveryBody, JobRead, UnlearningBody
from app.api.views import job_read
from app.apikeys.models import ApiKey
from app.core.deps import AuthFirstRoute, SessionDep, SettingsDep, require_scope
from app.core.fields import path_id
from app.core.responses import ITEM_ERRORS, WRITE_ERRORS, error_responses
from app.idempotency.service import IdempotencyKey, idempotent
from app.jobs import service as jobs_service
from app.requests import service as request_service

router = APIRouter(tags=["jobs"], route_class=AuthFirstRoute)

Operator = Annotated[ApiKey, Depends(require_scope("jobs:write"))]
Watcher = Annotated[ApiKey, Depends(require_scope("jobs:write", "requests:read"))]
RequestId = path_id("The request's id.")
JobId = path_id("The job's id.")


@router.post("/requests/{request_id}/discovery", operation_id="startDiscovery", response_model=JobRead,
             status_code=status.HTTP_202_ACCEPTED, responses=WRITE_ERRORS,
             summary="Probe the model for the subject's data (pending review, approved or failed requests)")
def start_discovery(request_id: RequestId, session: SessionDep, settings: SettingsDep, key: Operator,
                    body: DiscoveryBody | None = None, idempotency_key: IdempotencyKey = None) -> JobRead:
    def start() -> JobRead:
        return job_read(jobs_service.start_discovery(session=session, request_id=request_id, actor=actor(key),
                                                     model_id=body.model_id if body else None))

    return idempotent(session=session, settings=settings, caller=actor(key), operation="startDiscovery",
                      key=idempotency_key, body={"request_id": request_id, "model_id": body.model_id if body else None},
                      status_code=status.HTTP_202_ACCEPTED, produce=start)


@router.post("/jobs/unlearning", operation_id="startUnlearning", response_model=JobRead,
             status_code=status.HTTP_202_ACCEPTED, responses=WRITE_ERRORS,
             summary="Remove the found data of one or more approved requests (one job, one new model version)")
def start_unlearning(body: UnlearningBody, session: SessionDep, settings: SettingsDep, key: Operator,
                     idempotency_key: IdempotencyKey = None) -> JobRead:
    def start() -> JobRead:
        params = body.params.model_dump(exclude_none=True) if body.params else None
        job = jobs_service.start_unlearning(session=session, request_ids=body.request_ids, actor=actor(key),
                                            method=body.method, attributes=body.attributes, params=params,
                                            attacks=body.attacks, gating_attacks=body.gating_attacks)
        return job_read(job)

    return idempotent(session=session, settings=settings, caller=actor(key), operation="startUnlearning",
                      key=idempotency_key, body=body, status_code=status.HTTP_202_ACCEPTED, produce=start)


@router.get("/requests/{request_id}/jobs", operation_id="listRequestJobs", response_model=list[JobRead],
            responses=ITEM_ERRORS, summary="The jobs of one request, newest first")
def list_request_jobs(request_id: RequestId, session: SessionDep, key: Watcher) -> list[JobRead]:
    request = request_service.get_request(session=session, request_id=request_id)
    return [job_read(job) for job in jobs_service.jobs_for_request(session=session, request_id=request.id)]


@router.get("/jobs/{job_id}", operation_id="getJob", response_model=JobRead, responses=ITEM_ERRORS,
            summary="A job's status, progress, error, evidence digest and redacted findings")
def get_job(job_id: JobId, session: SessionDep, key: Watcher) -> JobRead:
    return job_read(jobs_service.get_job(session=session, job_id=job_id))


@router.post("/jobs/{job_id}/cancel", operation_id="cancelJob", response_model=JobRead,
             responses=error_responses(404, 409, 422),
             summary="Cancel: a queued job ends now, a running one at its next progress report")
def cancel_job(job_id: JobId, session: SessionDep, key: Operator) -> JobRead:
    return job_read(jobs_service.cancel(session=session, job_id=job_id, actor=actor(key)))
