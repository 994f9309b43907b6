"""One row per Idempotency-Key a caller used on an operation that creates something: what it answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "operation", "key_hash"), Index("ix_idempotency_keys_created_at",
                                                                                  "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(String(80))  # "apikey:<id>": one caller's keys never answer another
    operation: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the header: the key itself is not kept
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_enc: Mapped[bytes] = mapped_column(LargeBinary)  # the first answer, encrypted: it may hold identifiers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
