"""Deliver one outbox message: SMTP when configured, else it stays in the outbox (marked delivered there)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.core.logging import get_logger
from app.core.security import decrypt
from app.notifications.models import OutboxMessage

log = get_logger(__name__)


def _send_smtp(*, settings: Settings, message: OutboxMessage) -> None:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = decrypt(message.to_address, settings=settings)
    mail["Subject"] = message.subject
    mail.set_content(decrypt(message.body, settings=settings))
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(mail)


def deliver(*, session: Session, message_id: str, settings: Settings) -> str:
    """Return what happened: "missing", "already_sent", "smtp" or "outbox". Idempotent (acks_late redelivers)."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        log.warning("email.missing", message_id=message_id)
        return "missing"
    if message.sent_at is not None:
        return "already_sent"
    if settings.smtp_host:
        try:
            _send_smtp(settings=settings, message=message)
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = type(exc).__name__
            session.flush()
            log.warning("email.smtp_failed", message_id=message_id, kind=message.kind, error=type(exc).__name__)
            raise
        message.delivery = "smtp"
    else:
        message.delivery = "outbox"
    message.sent_at = utcnow()
    message.last_error = None
    session.flush()
    log.info("email.delivered", message_id=message_id, kind=message.kind, delivery=message.delivery)
    return message.delivery
