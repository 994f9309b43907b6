"""Erasure requests and their one-time codes. Identifiers are AES-GCM ciphertext; search by blind index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.core.security import decrypt_optional, encrypt_optional
from app.requests.deadlines import days_left
from app.requests.statuses import OPEN_STATUSES, RequestStatus


class EncryptedText:
    """A text attribute kept as AES-GCM ciphertext in the column ``column`` (None stays None)."""

    def __init__(self, column: str) -> None:
        self.column = column

    def __get__(self, obj: object, owner: type | None = None) -> str | None:
        if obj is None:
            return self  # type: ignore[return-value]
        return decrypt_optional(getattr(obj, self.column))

    def __set__(self, obj: object, value: str | None) -> None:
        setattr(obj, self.column, encrypt_optional(value))


class ErasureRequest(Base):
    __tablename__ = "erasure_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[RequestStatus] = mapped_column(
        Enum(
            RequestStatus,
            native_enum=False,
            create_constraint=True,
            length=32,
            name="request_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        index=True,
    )
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_months: Mapped[int | None] = mapped_column(Integer)
    extension_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_ground: Mapped[str | None] = mapped_column(String(64))
    decision_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(80))
    cancel_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the subject named on the form (free text), and the registered model an officer or discovery tied it to.
    target_model: Mapped[str | None] = mapped_column(String(200))
    target_model_id: Mapped[str | None] = mapped_column(ForeignKey("target_models.id", ondelete="SET NULL"),
                                                        index=True)

    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    other_identifiers_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    details_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_index: Mapped[str] = mapped_column(String(64), index=True)

    duplicate_of_id: Mapped[str | None] = mapped_column(ForeignKey("erasure_requests.id", ondelete="SET NULL"))
    status_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    code: Mapped[OneTimeCode | None] = relationship(back_populates="request", uselist=False)

    # What officers write (deny and extension reasons, approval notes, cancellations) may quote the subject: it is
    # stored encrypted like the subject's own identifiers, and read through these.
    extension_reason = EncryptedText("extension_reason_enc")
    decision_reason = EncryptedText("decision_reason_enc")
    cancel_reason = EncryptedText("cancel_reason_enc")

    def days_left(self, now: datetime | None = None) -> int:
        return days_left(self.due_at, now or utcnow())

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status in OPEN_STATUSES and (now or utcnow()) > self.due_at

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of_id is not None


class OneTimeCode(Base):
    """The 6-digit email code of a request (one row per request; a resend replaces the code)."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("erasure_requests.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resends: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[ErasureRequest] = relationship(back_populates="code")

    @property
    def used(self) -> bool:
        return self.used_at is not None

    @property
    def invalidated(self) -> bool:
        return self.invalidated_at is not None
