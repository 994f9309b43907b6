"""The steps every action on a request is built from: load it by id, move its status (checked against the
machine in ``statuses`` and audited) and email its subject. Intake (``service``) and review (``review``) both use
them; ``service`` re-exports them with the review actions so callers use one service module.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.logging import get_logger
from app.notifications import service as notification_service
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus, check_reopen, check_transition

log = get_logger(__name__)


def get_request(*, session: Session, request_id: str) -> ErasureRequest:
    request = session.get(ErasureRequest, request_id) if _looks_like_uuid(request_id) else None
    if request is None:
        raise NotFound("No erasure request with this id.", details={"request_id": request_id[:64]})
    return request


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def transition(
    *, session: Session, request: ErasureRequest, new_status: RequestStatus, actor: str, **audit_details: Any
) -> ErasureRequest:
    """The single place a status changes: check the machine, apply, audit, log (ids only)."""
    check_transition(request.status, new_status)
    return _apply(session, request, new_status, actor, f"erasure.{new_status.value}", audit_details)


def reopen(*, session: Session, request: ErasureRequest, actor: str, reason: str,
           **audit_details: Any) -> ErasureRequest:
    """completed -> approved because the erasure it recorded was undone (see ``statuses.REOPEN_TRANSITIONS``).

    The due date stays: Art. 12(3) runs from receipt, and undoing our own erasure gives us no new month. No
    email here: the subject hears again when the erasure is carried out again (the completion email)."""
    new_status = check_reopen(request.status)
    return _apply(session, request, new_status, actor, "request.reopened", {"reason": reason, **audit_details})


def _apply(session: Session, request: ErasureRequest, new_status: RequestStatus, actor: str, event: str,
           audit_details: dict[str, Any]) -> ErasureRequest:
    old = request.status
    request.status = new_status
    request.updated_at = utcnow()
    session.flush()
    audit_service.append(
        session=session,
        event=event,
        actor=actor,
        request_id=request.id,
        details={"from": old.value, "to": new_status.value, **audit_details},
    )
    log.info(event, request_id=request.id, actor=actor, previous=old.value)
    return request


def notify_subject(*, session: Session, request: ErasureRequest, kind: str, settings: Settings, **context: Any) -> None:
    """Queue the ``kind`` email to the subject's (decrypted) address; sent after commit."""
    notification_service.queue_email(
        session=session,
        request=request,
        kind=kind,
        context={"request": request, "base_url": settings.base_url, **context},
    )
