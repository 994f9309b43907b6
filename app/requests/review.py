"""Officer (or API key) decisions on a request: approve, deny, extend, cancel. Each emails the subject."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, IllegalTransition, InvalidInput
from app.core.security import sha256_hex
from app.requests.deadlines import MAX_EXTENSION_MONTHS, add_months
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.lifecycle import get_request, notify_subject, transition
from app.requests.models import ErasureRequest
from app.requests.schemas import MAX_REASON
from app.requests.statuses import EXTENDABLE_STATUSES, RequestStatus


def _text(value: str | None, *, field: str, required: bool) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"A {field} is required.", details={"field": field})
    if len(value) > MAX_REASON:
        raise InvalidInput(f"The {field} is longer than {MAX_REASON} characters.", details={"field": field})
    return value or None


def _ground(enum: type[ErasureGround] | type[DenialGround], value: str) -> ErasureGround | DenialGround:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(
            f"Unknown ground {str(value)[:64]!r}.", details={"field": "ground", "allowed": [g.value for g in enum]}
        ) from None


def _hash_or_none(value: str | None) -> str | None:
    # Free text may name people: the audit log keeps only a commitment to it.
    return sha256_hex(value) if value else None


def _decide(*, session: Session, request: ErasureRequest, status: RequestStatus, actor: str, ground: str,
            text: str | None, text_field: str, now: datetime | None) -> None:
    """Record an approval or denial: the transition (audited with a hash of the text), then the decision."""
    transition(session=session, request=request, new_status=status, actor=actor, ground=ground,
               **{text_field: _hash_or_none(text)})
    request.decision_ground, request.decision_reason = ground, text
    request.decided_at, request.decided_by = now or utcnow(), actor
    session.flush()


def approve(
    *, session: Session, request_id: str, actor: str, ground: ErasureGround, note: str | None = None,
    now: datetime | None = None, settings: Settings | None = None,
) -> ErasureRequest:
    ground = _ground(ErasureGround, ground)
    note = _text(note, field="note", required=False)
    request = get_request(session=session, request_id=request_id)
    _decide(session=session, request=request, status=RequestStatus.approved, actor=actor, ground=ground.value,
            text=note, text_field="note_sha256", now=now)
    notify_subject(session=session, request=request, kind="approved", settings=settings or get_settings(),
           ground_label=ground.label)
    return request


def deny(
    *, session: Session, request_id: str, actor: str, ground: DenialGround, reason: str,
    now: datetime | None = None, settings: Settings | None = None,
) -> ErasureRequest:
    ground = _ground(DenialGround, ground)
    reason_text = _text(reason, field="reason", required=True)
    request = get_request(session=session, request_id=request_id)
    _decide(session=session, request=request, status=RequestStatus.denied, actor=actor, ground=ground.value,
            text=reason_text, text_field="reason_sha256", now=now)
    notify_subject(session=session, request=request, kind="denied", settings=settings or get_settings(),
           ground_label=ground.label, reason=reason_text)
    return request


def can_extend(request: ErasureRequest, now: datetime | None = None) -> bool:
    return (
        not request.extended
        and request.status in EXTENDABLE_STATUSES
        and (now or utcnow()) < request.original_due_at
    )


def extend(
    *, session: Session, request_id: str, actor: str, months: int, reason: str,
    now: datetime | None = None, settings: Settings | None = None,
) -> ErasureRequest:
    """Art. 12(3): once, by 1..2 months, with reasons, told to the subject within the first month."""
    now = now or utcnow()
    if not isinstance(months, int) or not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise InvalidInput(f"An extension is 1 to {MAX_EXTENSION_MONTHS} months.", details={"field": "months"})
    reason_text = _text(reason, field="reason", required=True)
    request = get_request(session=session, request_id=request_id)
    if request.extended:
        raise Conflict("The deadline was already extended once.", code="already_extended")
    if request.status not in EXTENDABLE_STATUSES:
        raise IllegalTransition(
            f"A request that is {request.status.value} cannot be extended.",
            details={"status": request.status.value},
        )
    if now >= request.original_due_at:
        raise Conflict(
            "The original due date has passed: an extension must be notified within the first month.",
            code="extension_too_late",
        )
    request.extended = True
    request.extension_months = months
    request.extension_reason = reason_text
    request.extended_at = now
    request.due_at = add_months(request.original_due_at, months)
    request.updated_at = now
    session.flush()
    audit_service.append(
        session=session, event="erasure.extended", actor=actor, request_id=request.id,
        details={"months": months, "due_at": request.due_at.isoformat(), "reason_sha256": _hash_or_none(reason_text)},
    )
    notify_subject(session=session, request=request, kind="extended", settings=settings or get_settings(),
           months=months, reason=reason_text)
    return request


def cancel(
    *, session: Session, request_id: str, actor: str, reason: str | None = None,
    now: datetime | None = None, settings: Settings | None = None,
) -> ErasureRequest:
    reason_text = _text(reason, field="reason", required=False)
    request = get_request(session=session, request_id=request_id)
    was_verified = request.verified_at is not None
    transition(session=session, request=request, new_status=RequestStatus.canceled, actor=actor,
               reason_sha256=_hash_or_none(reason_text))
    request.cancel_reason, request.canceled_at = reason_text, now or utcnow()
    session.flush()
    # An unverified address never proved it belongs to the subject: do not write to it again.
    if was_verified:
        notify_subject(session=session, request=request, kind="canceled", settings=settings or get_settings(),
               reason=reason_text)
    return request
