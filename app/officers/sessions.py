"""Officer sessions held by the server: a sign-in starts one, every officer page checks it, sign-out ends it.

The officer's cookie carries a random token; the table keeps only its SHA-256, so a leaked copy of the table
cannot be turned into cookies, and ending the row ends every copy of the cookie. A session lasts at most
``MAX_AGE`` from sign-in, whatever the officer does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.security import new_token, sha256_hex
from app.officers.models import OfficerSession, SessionEndReason

MAX_AGE = timedelta(hours=8)
# Tokens are 43 characters; anything much longer is not ours and is not worth hashing.
_MAX_TOKEN_LENGTH = 128
# Writing last_seen_at on every request would turn each poll of the live job panel into a write; to the
# minute is enough to tell an idle session from an active one.
_SEEN_RESOLUTION = timedelta(minutes=1)


def _key(token: str) -> str:
    return sha256_hex(token)


def start(*, session: Session, officer_id: str, now: datetime | None = None) -> str:
    """A new session for the officer; returns the token for the cookie (it is not stored, only its hash)."""
    now = now or utcnow()
    # Sessions past MAX_AGE can never be used again: dropping them here keeps the table about one row per
    # sign-in of the last MAX_AGE, without a scheduled clean-up.
    session.execute(delete(OfficerSession).where(OfficerSession.created_at < now - MAX_AGE))
    token = new_token(32)
    session.add(OfficerSession(id=_key(token), officer_id=officer_id, created_at=now, last_seen_at=now))
    session.flush()
    return token


def resolve(*, session: Session, token: str, officer_id: str, now: datetime | None = None) -> OfficerSession | None:
    """The live session behind a cookie, or None: unknown token, another officer's, ended, or too old."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    now = now or utcnow()
    row = session.get(OfficerSession, _key(token))
    if row is None or row.officer_id != officer_id or row.revoked_at is not None:
        return None
    # No lower bound: a session started a moment "in the future" by a web process whose clock runs ahead is fine.
    if now - row.created_at > MAX_AGE:
        return None
    if now - row.last_seen_at >= _SEEN_RESOLUTION:
        row.last_seen_at = now
        session.flush()
    return row


def end(
    *, session: Session, token: str, reason: SessionEndReason = SessionEndReason.signed_out,
    now: datetime | None = None,
) -> OfficerSession | None:
    """End the session behind a cookie; returns it, or None when it was unknown or already ended."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    row = session.get(OfficerSession, _key(token))
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = now or utcnow()
    row.revoked_reason = reason
    session.flush()
    return row


def end_all(*, session: Session, officer_id: str, reason: SessionEndReason, now: datetime | None = None) -> int:
    """End every live session of the officer (disabled, new password, lost device); returns how many."""
    result = session.execute(
        update(OfficerSession)
        .where(OfficerSession.officer_id == officer_id, OfficerSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason)
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
