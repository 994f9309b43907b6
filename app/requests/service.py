"""Erasure-request intake, identity verification and reads. Review actions live in ``review``, the steps both are
built from (load, ``transition``, email the subject) in ``lifecycle``; all are re-exported here so callers use one
service module.

Every status change goes through ``transition`` (which writes the audit entry); services flush and never
commit (the request-scoped session does).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.models import AuditEntry
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, RateLimited
from app.core.logging import get_logger
from app.core.security import blind_index, decrypt, decrypt_optional, encrypt, encrypt_optional, sha256_hex
from app.requests import codes
from app.requests.deadlines import due_date
from app.requests.lifecycle import get_request, notify_subject, reopen, transition
from app.requests.models import ErasureRequest, OneTimeCode
from app.requests.review import approve, cancel, deny, extend
from app.requests.schemas import RequestCreate, SubjectIdentifiers
from app.requests.statuses import OPEN_STATUSES, RequestStatus

log = get_logger(__name__)

# Crockford-style alphabet: no I, L, O, U, so references survive being read aloud or retyped.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_PAGE = 200


@dataclass(frozen=True)
class CreatedRequest:
    request: ErasureRequest
    status_token: str


def new_reference() -> str:
    return "RTBF-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def status_token_hash(token: str) -> str:
    return sha256_hex(token)


def status_path(token: str) -> str:
    return f"/status/{token}"


def _url(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def _find_duplicate(*, session: Session, email_index: str, now: datetime, settings: Settings) -> str | None:
    since = now - timedelta(days=settings.duplicate_window_days)
    return session.scalar(
        select(ErasureRequest.id)
        .where(ErasureRequest.email_index == email_index, ErasureRequest.received_at >= since)
        .order_by(ErasureRequest.received_at, ErasureRequest.id)
        .limit(1)
    )


def create_request(
    *,
    session: Session,
    data: RequestCreate,
    channel: str,
    verified: bool = False,
    actor: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> CreatedRequest:
    """File a request. Unverified requests get an emailed code; ``verified`` ones (API) go to review."""
    settings = settings or get_settings()
    now = now or utcnow()
    actor = actor or "subject"
    token = secrets.token_urlsafe(32)
    email = str(data.email)
    email_index = blind_index(email, "email", settings=settings)
    duplicate_of = _find_duplicate(session=session, email_index=email_index, now=now, settings=settings)
    due = due_date(now)
    request = ErasureRequest(
        id=str(uuid.uuid4()),
        reference=new_reference(),
        status=RequestStatus.identity_unverified,
        channel=channel,
        received_at=now,
        due_at=due,
        original_due_at=due,
        extended=False,
        target_model=data.target_model,
        name_enc=encrypt(data.full_name, settings=settings),
        email_enc=encrypt(email, settings=settings),
        phone_enc=encrypt_optional(data.phone, settings=settings),
        address_enc=encrypt_optional(data.postal_address, settings=settings),
        other_identifiers_enc=encrypt_optional(data.other_identifiers, settings=settings),
        details_enc=encrypt_optional(data.details, settings=settings),
        email_index=email_index,
        duplicate_of_id=duplicate_of,
        status_token_hash=status_token_hash(token),
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    audit_service.append(
        session=session,
        event="erasure.received",
        actor=actor,
        request_id=request.id,
        details={
            "reference": request.reference,
            "channel": channel,
            "email_hmac": email_index,
            "due_at": due.isoformat(),
            "duplicate_of": duplicate_of,
        },
    )
    log.info("erasure.received", request_id=request.id, channel=channel, duplicate=duplicate_of is not None)
    if verified:
        request.verified_at = now
        transition(session=session, request=request, new_status=RequestStatus.pending_review, actor=actor,
                   method="api_key")
        notify_subject(session=session, request=request, kind="request_received", settings=settings)
    else:
        otp = OneTimeCode(request_id=request.id, resends=0, created_at=now)
        code = codes.issue(otp=otp, request_id=request.id, now=now, settings=settings)
        session.add(otp)
        session.flush()
        notify_subject(
            session=session,
            request=request,
            kind="verification_code",
            settings=settings,
            code=code,
            verify_url=_url(settings, status_path(token) + "/verify"),
            ttl_minutes=settings.otp_ttl_seconds // 60,
        )
    return CreatedRequest(request=request, status_token=token)


def _unverified(*, session: Session, request_id: str) -> tuple[ErasureRequest, OneTimeCode]:
    request = get_request(session=session, request_id=request_id)
    if request.status != RequestStatus.identity_unverified or request.code is None:
        message = (
            "This request is already verified."
            if request.verified_at is not None
            else f"This request is {request.status.value} and no longer waits for a code."
        )
        raise Conflict(message, code="already_verified" if request.verified_at else "not_awaiting_code")
    return request, request.code


def verify_code(
    *, session: Session, request_id: str, code: str, now: datetime | None = None, settings: Settings | None = None
) -> ErasureRequest:
    settings = settings or get_settings()
    now = now or utcnow()
    request, otp = _unverified(session=session, request_id=request_id)
    try:
        codes.check(otp=otp, request_id=request.id, code=code, now=now, settings=settings)
    except InvalidInput as exc:
        if exc.keep_changes:
            session.flush()
            audit_service.append(
                session=session,
                event="erasure.code_rejected",
                actor="subject",
                request_id=request.id,
                details={"reason": exc.code, "attempts": otp.attempts},
            )
        raise
    request.verified_at = now
    transition(session=session, request=request, new_status=RequestStatus.pending_review, actor="subject",
               method="email_code")
    notify_subject(session=session, request=request, kind="request_received", settings=settings)
    return request


def resend_code(
    *, session: Session, request_id: str, now: datetime | None = None, settings: Settings | None = None
) -> None:
    settings = settings or get_settings()
    now = now or utcnow()
    request, otp = _unverified(session=session, request_id=request_id)
    if otp.resends >= settings.otp_max_resends:
        raise RateLimited(
            "The code was already re-sent the maximum number of times.",
            code="resend_limit",
            details={"max_resends": settings.otp_max_resends},
        )
    code = codes.issue(otp=otp, request_id=request.id, now=now, settings=settings)
    otp.resends += 1
    session.flush()
    audit_service.append(
        session=session, event="erasure.code_resent", actor="subject", request_id=request.id,
        details={"resends": otp.resends},
    )
    notify_subject(session=session, request=request, kind="verification_code", settings=settings, code=code,
                   verify_url=None, ttl_minutes=settings.otp_ttl_seconds // 60)


def get_by_status_token(*, session: Session, token: str) -> ErasureRequest:
    request = None
    if 0 < len(token) <= 200:
        request = session.scalar(
            select(ErasureRequest).where(ErasureRequest.status_token_hash == status_token_hash(token))
        )
    if request is None:
        raise NotFound("This status link is not valid.")
    return request


def get_by_reference(*, session: Session, reference: str) -> ErasureRequest:
    request = session.scalar(select(ErasureRequest).where(ErasureRequest.reference == reference.strip().upper()))
    if request is None:
        raise NotFound("No erasure request with this reference.")
    return request


def find_by_email(*, session: Session, email: str, settings: Settings | None = None) -> list[ErasureRequest]:
    """Search by blind index: the plaintext never reaches the database."""
    index = blind_index(email, "email", settings=settings)
    return list(session.scalars(
        select(ErasureRequest).where(ErasureRequest.email_index == index).order_by(ErasureRequest.received_at)
    ))


def list_requests(
    *,
    session: Session,
    status: RequestStatus | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[ErasureRequest], int]:
    """A page of requests sorted by due date (soonest first) and the total matching the filters."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0.")
    now = now or utcnow()
    conditions = []
    if status is not None:
        conditions.append(ErasureRequest.status == status)
    if overdue is not None:
        is_overdue = and_(ErasureRequest.status.in_(list(OPEN_STATUSES)), ErasureRequest.due_at < now)
        conditions.append(is_overdue if overdue else not_(is_overdue))
    total = session.scalar(select(func.count()).select_from(ErasureRequest).where(*conditions)) or 0
    items = session.scalars(
        select(ErasureRequest)
        .where(*conditions)
        .order_by(ErasureRequest.due_at, ErasureRequest.received_at, ErasureRequest.id)
        .limit(limit)
        .offset(offset)
    )
    return list(items), total


def identifiers(request: ErasureRequest) -> SubjectIdentifiers:
    return SubjectIdentifiers(
        full_name=decrypt(request.name_enc),
        email=decrypt(request.email_enc),
        phone=decrypt_optional(request.phone_enc),
        postal_address=decrypt_optional(request.address_enc),
        other_identifiers=decrypt_optional(request.other_identifiers_enc),
        details=decrypt_optional(request.details_enc),
    )


def history(*, session: Session, request_id: str) -> list[AuditEntry]:
    request = get_request(session=session, request_id=request_id)
    return audit_service.entries_for_request(session=session, request_id=request.id)


__all__ = [
    "CreatedRequest", "approve", "cancel", "create_request", "deny", "extend", "find_by_email", "get_by_reference",
    "get_by_status_token", "get_request", "history", "identifiers", "list_requests", "notify_subject", "reopen",
    "resend_code", "transition", "verify_code",
]
