from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """One email. Address and body are AES-GCM ciphertext: both carry personal data."""

    __tablename__ = "outbox_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("erasure_requests.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "smtp" once handed to the SMTP server, "outbox" when no SMTP is configured (the dev outbox is the inbox).
    delivery: Mapped[str | None] = mapped_column(String(16))
    # Exception class only: SMTP error texts can echo the recipient address.
    last_error: Mapped[str | None] = mapped_column(String(120))
