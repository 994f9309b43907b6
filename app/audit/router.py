"""Audit endpoints: a request's trail, its evidence bundle, and a verification of the whole chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.apikeys.models import ApiKey
from app.audit import service as audit_service
from app.audit.bundle import build_bundle, dumps
from app.audit.schemas import AuditEntryRead, AuditVerifyRead
from app.core.deps import AuthFirstRoute, SessionDep, require_scope
from app.core.fields import path_id
from app.core.responses import ITEM_ERRORS
from app.requests import service as request_service

router = APIRouter(tags=["audit"], route_class=AuthFirstRoute)
Auditor = Annotated[ApiKey, Depends(require_scope("audit:read"))]
RequestId = path_id("The request's id.")


@router.get("/requests/{request_id}/audit", operation_id="getRequestAudit", response_model=list[AuditEntryRead],
            responses=ITEM_ERRORS,
            summary="The audit trail of one request, oldest first")
def get_request_audit(request_id: RequestId, session: SessionDep, key: Auditor) -> list[AuditEntryRead]:
    entries = request_service.history(session=session, request_id=request_id)
    return [AuditEntryRead.model_validate(e) for e in entries]


@router.get("/audit/verify", operation_id="verifyAuditLog", response_model=AuditVerifyRead,
            summary="Recompute the whole hash chain")
def verify_audit_log(session: SessionDep, key: Auditor) -> AuditVerifyRead:
    result = audit_service.verify_chain(session=session)
    return AuditVerifyRead(ok=result.ok, checked=result.checked, first_bad_seq=result.first_bad_seq,
                           reason=result.reason, head_hash=result.head_hash)


@router.get("/requests/{request_id}/bundle", operation_id="exportRequestBundle",
            summary="The request's evidence bundle (no personal data), checkable offline with "
                    "`rtbf audit verify-bundle`",
            responses={200: {"content": {"application/json": {}},
                             "description": "The bundle (schema rtbf.evidence-bundle/1)"}, **ITEM_ERRORS})
def export_request_bundle(request_id: RequestId, session: SessionDep, key: Auditor) -> Response:
    request = request_service.get_request(session=session, request_id=request_id)
    # Written with the CLI's encoder: evidence metrics may hold NaN, which the default JSON response refuses.
    return Response(dumps(build_bundle(session=session, request_id=request.id)), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="rtbf-{request.reference}.json"'})
