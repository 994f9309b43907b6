"""Render emails from ``frontend/emails/<kind>.txt`` into the outbox and enqueue their delivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.core.security import decrypt, encrypt
from app.core.tasks import enqueue_after_commit
from app.notifications.models import OutboxMessage

if TYPE_CHECKING:
    from app.requests.models import ErasureRequest

EMAIL_DIR = Path(__file__).resolve().parents[2] / "frontend" / "emails"
EMAIL_KINDS = frozenset({"verification_code", "request_received", "approved", "denied", "extended", "canceled",
                         "completed", "attempt_failed"})
SEND_EMAIL_TASK = "rtbf.notifications.send_email"


@dataclass(frozen=True)
class OutboxView:
    id: str
    request_id: str | None
    kind: str
    to_address: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    delivery: str | None


@lru_cache
def _environment() -> Environment:
    # Plain-text mail: no HTML autoescaping; StrictUndefined makes a missing variable an error, not a blank.
    return Environment(
        loader=FileSystemLoader(EMAIL_DIR), autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
    )


def render_email(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """Return (subject line, body). A template's first line is ``Subject: ...``."""
    if kind not in EMAIL_KINDS:
        raise InvalidInput(f"Unknown email kind {kind!r}.")
    text = _environment().get_template(f"{kind}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"email template {kind}.txt must start with a 'Subject:' line")
    return first.removeprefix("Subject:").strip(), body.lstrip("\n")


def queue_email(
    *, session: Session, request: ErasureRequest, kind: str, context: dict[str, Any], to_address: str | None = None
) -> OutboxMessage:
    """Store the rendered email and send it after the transaction commits."""
    address = to_address or decrypt(request.email_enc)
    subject, body = render_email(kind, {"reference": request.reference, **context})
    message = OutboxMessage(
        id=str(uuid.uuid4()),
        request_id=request.id,
        kind=kind,
        to_address=encrypt(address),
        subject=subject,
        body=encrypt(body),
    )
    session.add(message)
    session.flush()
    enqueue_after_commit(session, SEND_EMAIL_TASK, message.id)
    return message


def _view(message: OutboxMessage) -> OutboxView:
    return OutboxView(
        id=message.id,
        request_id=message.request_id,
        kind=message.kind,
        to_address=decrypt(message.to_address),
        subject=message.subject,
        body=decrypt(message.body),
        created_at=message.created_at,
        sent_at=message.sent_at,
        delivery=message.delivery,
    )


def list_outbox(
    *, session: Session, limit: int = 50, offset: int = 0, request_id: str | None = None
) -> list[OutboxView]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
    if request_id is not None:
        stmt = stmt.where(OutboxMessage.request_id == request_id)
    return [_view(m) for m in session.scalars(stmt.limit(limit).offset(offset))]


def count_outbox(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
