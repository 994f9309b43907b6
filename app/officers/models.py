"""Compliance officers (the people who review erasure requests), their sign-in sessions and failed sign-ins."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Officers are staff accounts, not data subjects: their login email is stored in clear (normalised).
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def name(self) -> str:
        return self.display_name


class SessionEndReason(StrEnum):
    signed_out = "signed_out"
    officer_disabled = "officer_disabled"
    password_changed = "password_changed"
    revoked = "revoked"  # every session of the officer ended by an administrator (`rtbf officer sign-out`)


class OfficerSession(Base):
    """One sign-in. The browser holds the random token; only its SHA-256 is stored, so a copy of this table
    cannot be replayed as a cookie."""

    __tablename__ = "officer_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[str] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[SessionEndReason | None] = mapped_column(
        Enum(SessionEndReason, native_enum=False, create_constraint=True, length=32,
             name="officer_session_end_reason", values_callable=lambda e: [m.value for m in e])
    )


class SignInFailure(Base):
    """A failed sign-in, keyed by blind indexes of the email and the client address (both personal data)."""

    __tablename__ = "officer_sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email_index: Mapped[str] = mapped_column(String(64), index=True)
    ip_index: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
