"""``/api/v1/requests``: thin HTTP layer over the requests service, for legal tooling with API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.apikeys.models import ApiKey
from app.core.deps import AuthFirstRoute, SessionDep, SettingsDep, require_scope
from app.core.fields import path_id
from app.core.responses import ITEM_ERRORS, WRITE_ERRORS, error_responses
from app.idempotency.service import IdempotencyKey, idempotent
from app.requests import service
from app.requests.models import ErasureRequest
from app.requests.schemas import (
    MAX_OFFSET,
    ApproveBody,
    CancelBody,
    DenyBody,
    ExtendBody,
    RequestCreate,
    RequestCreated,
    RequestDetail,
    RequestPage,
)
from app.requests.service import MAX_PAGE
from app.requests.statuses import RequestStatus
from app.requests.views import to_detail, to_read

router = APIRouter(prefix="/requests", tags=["requests"], route_class=AuthFirstRoute)

RequestId = path_id("The request's id.")

Reader = Annotated[ApiKey, Depends(require_scope("requests:read"))]
Writer = Annotated[ApiKey, Depends(require_scope("requests:write"))]
Reviewer = Annotated[ApiKey, Depends(require_scope("requests:review"))]
ReaderOrReviewer = Annotated[ApiKey, Depends(require_scope("requests:read", "requests:review"))]


def _actor(key: ApiKey) -> str:
    return f"apikey:{key.id}"


@router.post(
    "", operation_id="createRequest", status_code=status.HTTP_201_CREATED, response_model=RequestCreated,
    responses=error_responses(400, 409, 422),
    summary="File a request for a subject whose identity the caller has verified",
)
def create_request(body: RequestCreate, session: SessionDep, settings: SettingsDep, key: Writer,
                   idempotency_key: IdempotencyKey = None) -> RequestCreated:
    def create() -> RequestCreated:
        created = service.create_request(
            session=session, data=body, channel="api", verified=True, actor=_actor(key), settings=settings
        )
        # The caller wrote these identifiers, so it gets them back whether or not it may read others.
        detail = to_detail(created.request, with_identifiers=True)
        return RequestCreated(
            **detail.model_dump(),
            status_token=created.status_token,
            status_url=settings.base_url.rstrip("/") + service.status_path(created.status_token),
        )

    return idempotent(session=session, settings=settings, caller=_actor(key), operation="createRequest",
                      key=idempotency_key, body=body, status_code=status.HTTP_201_CREATED, produce=create)


@router.get("", operation_id="listRequests", response_model=RequestPage, responses=error_responses(422),
            summary="List requests, soonest due first")
def list_requests(
    session: SessionDep,
    key: Reader,
    status_filter: Annotated[RequestStatus | None, Query(alias="status")] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> RequestPage:
    items, total = service.list_requests(
        session=session, status=status_filter, overdue=overdue, limit=limit, offset=offset
    )
    return RequestPage(items=[to_read(r, with_text="requests:read" in key.scopes) for r in items], total=total,
                       limit=limit, offset=offset)


def _detail(request: ErasureRequest, key: ApiKey) -> RequestDetail:
    """Decrypted identifiers only for keys that may read them."""
    return to_detail(request, with_identifiers="requests:read" in key.scopes)


@router.get("/{request_id}", operation_id="getRequest", response_model=RequestDetail, responses=ITEM_ERRORS,
            summary="Read one request (identifiers only with requests:read)")
def get_request(request_id: RequestId, session: SessionDep, key: ReaderOrReviewer) -> RequestDetail:
    request = service.get_request(session=session, request_id=request_id)
    return _detail(request, key)


@router.post("/{request_id}/approve", operation_id="approveRequest", response_model=RequestDetail,
             responses=WRITE_ERRORS, summary="Approve under an Art. 17(1) ground")
def approve_request(request_id: RequestId, body: ApproveBody, session: SessionDep, settings: SettingsDep,
                    key: Reviewer) -> RequestDetail:
    request = service.approve(session=session, request_id=request_id, actor=_actor(key), ground=body.ground,
                              note=body.note, settings=settings)
    return _detail(request, key)


@router.post("/{request_id}/deny", operation_id="denyRequest", response_model=RequestDetail,
             responses=WRITE_ERRORS, summary="Deny under an Art. 17(3) exception or Art. 12(5)")
def deny_request(request_id: RequestId, body: DenyBody, session: SessionDep, settings: SettingsDep,
                 key: Reviewer) -> RequestDetail:
    request = service.deny(session=session, request_id=request_id, actor=_actor(key), ground=body.ground,
                           reason=body.reason, settings=settings)
    return _detail(request, key)


@router.post("/{request_id}/extend", operation_id="extendRequest", response_model=RequestDetail,
             responses=WRITE_ERRORS, summary="Extend the deadline once, by 1 or 2 months, with reasons")
def extend_request(request_id: RequestId, body: ExtendBody, session: SessionDep, settings: SettingsDep,
                   key: Reviewer) -> RequestDetail:
    request = service.extend(session=session, request_id=request_id, actor=_actor(key), months=body.months,
                             reason=body.reason, settings=settings)
    return _detail(request, key)


@router.post("/{request_id}/cancel", operation_id="cancelRequest", response_model=RequestDetail,
             responses=WRITE_ERRORS, summary="Cancel a request")
def cancel_request(request_id: RequestId, body: CancelBody, session: SessionDep, settings: SettingsDep,
                   key: Reviewer) -> RequestDetail:
    request = service.cancel(session=session, request_id=request_id, actor=_actor(key), reason=body.reason,
                             settings=settings)
    return _detail(request, key)
