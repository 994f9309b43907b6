"""Officer accounts (argon2 passwords), sign-in with throttling, the server-side sessions it opens, and an
officer's own password change.

Audit entries are appended last in each transaction here: the audit chain's lock is then never held while
waiting for another row (an expired session, a failure being pruned) that a second sign-in holds while it
waits for that lock."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthorized
from app.core.logging import get_logger
from app.core.security import hash_password, verify_password
from app.officers import sessions as officer_sessions
from app.officers import throttle
from app.officers.models import Officer, SessionEndReason
from app.officers.schemas import OfficerCreate, OfficerPassword

log = get_logger(__name__)

# No stored account can match longer values (see OfficerCreate), so they are refused without running argon2.
_MAX_EMAIL = 254
_MAX_PASSWORD = 256
_PASSWORD_RULE = "The password needs at least 12 characters (at most 256)."


class SignInRefused(Unauthorized):
    """Wrong email or password, or a disabled account: one message for all, nothing to enumerate."""

    code = "sign_in_refused"
    # The failure was counted for throttling and must be committed even though the sign-in is refused.
    keep_changes = True


class SignInThrottled(RateLimited):
    """The address is blocked or the account must wait. The same words whether or not the email is an officer's:
    unknown emails are counted and delayed alike."""

    code = "sign_in_throttled"

    def __init__(self, *, retry_at: datetime, now: datetime, what: str = "Too many failed sign-in attempts") -> None:
        self.retry_after_s = max(1, math.ceil((retry_at - now).total_seconds()))
        super().__init__(f"{what}. Try again {_when(retry_at, self.retry_after_s)}.",
                         details={"retry_after_s": self.retry_after_s})
        self.retry_at = retry_at


def _when(retry_at: datetime, seconds: int) -> str:
    # An account's delay is seconds, an address's block can be minutes: a clock time only helps for the latter.
    if seconds < 120:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"after {retry_at:%H:%M} UTC (in {minutes} minutes)"


class WrongCurrentPassword(InvalidInput):
    code = "wrong_password"
    # Counted for throttling like a failed sign-in, so it must be committed though the change is refused.
    keep_changes = True


@dataclass(frozen=True)
class SignedIn:
    officer: Officer
    # For the officer's cookie only: the database keeps its hash.
    session_token: str


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def create_officer(*, session: Session, email: str, password: str, name: str) -> Officer:
    try:
        data = OfficerCreate(email=email.strip(), password=password, name=name.strip())
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors()})
        raise InvalidInput(
            "Officer needs a valid email, a name and a password of at least 12 characters.",
            details={"fields": fields},
        ) from None
    address = _normalise_email(str(data.email))
    if session.scalar(select(Officer.id).where(Officer.email == address)):
        raise Conflict("An officer with this email already exists.", code="duplicate_officer")
    officer = Officer(
        id=str(uuid.uuid4()), email=address, display_name=data.name, password_hash=hash_password(data.password)
    )
    session.add(officer)
    session.flush()
    audit_service.append(session=session, event="officer.created", actor="system", details={"officer_id": officer.id})
    return officer


def _check_password(*, session: Session, email: str, password: str) -> Officer | None:
    officer = session.scalar(select(Officer).where(Officer.email == _normalise_email(email)))
    # verify_password always runs argon2 (against a dummy hash when the account is unknown).
    ok = verify_password(password, officer.password_hash if officer else None)
    if officer is None or not ok or not officer.active:
        return None
    return officer


def _record_sign_in(*, session: Session, officer: Officer) -> None:
    officer.last_login_at = utcnow()
    session.flush()
    audit_service.append(session=session, event="officer.signed_in", actor=f"officer:{officer.id}")


def authenticate(*, session: Session, email: str, password: str) -> Officer | None:
    officer = _check_password(session=session, email=email, password=password)
    if officer is not None:
        _record_sign_in(session=session, officer=officer)
    return officer


def _check_throttle(
    *, session: Session, email: str, client_ip: str | None, now: datetime | None, settings: Settings, what: str
) -> datetime:
    """Hold the email's and address's throttle for this transaction; refuse if either must wait. Returns now.

    The time is read once the throttle is held: an attempt that queued behind another is judged (and its
    failure recorded) at the moment it actually runs.
    """
    throttle.lock(session=session, email=email, client_ip=client_ip, settings=settings)
    now = now or utcnow()
    block = throttle.blocked(session=session, email=email, client_ip=client_ip, now=now, settings=settings)
    if block is not None:
        log.info("officer.sign_in_blocked", scope=block.scope)
        raise SignInThrottled(retry_at=block.retry_at, now=now, what=what)
    return now


def _count_failure(*, session: Session, email: str, client_ip: str | None, now: datetime, settings: Settings) -> None:
    reached = throttle.record_failure(session=session, email=email, client_ip=client_ip, now=now, settings=settings)
    for scope in reached:
        _audit_throttle_started(session=session, scope=scope, email=email, settings=settings, now=now)


def sign_in(
    *, session: Session, email: str, password: str, client_ip: str | None,
    now: datetime | None = None, settings: Settings | None = None,
) -> SignedIn:
    """Check the throttle, then the password; on success open a server-side session.

    Raises ``SignInThrottled`` without looking at the password (guesses made while throttled are worthless)
    and ``SignInRefused`` after counting the failure. Neither says whether the email belongs to an officer.
    """
    settings = settings or get_settings()
    now = _check_throttle(session=session, email=email, client_ip=client_ip, now=now, settings=settings,
                          what="Too many failed sign-in attempts")
    officer = None
    if len(email) <= _MAX_EMAIL and len(password) <= _MAX_PASSWORD:
        officer = _check_password(session=session, email=email, password=password)
    if officer is None:
        _count_failure(session=session, email=email, client_ip=client_ip, now=now, settings=settings)
        raise SignInRefused("The email address or password is not correct.")
    throttle.clear(session=session, email=email, settings=settings)
    token = officer_sessions.start(session=session, officer_id=officer.id, now=now)
    _record_sign_in(session=session, officer=officer)
    log.info("officer.signed_in", officer_id=officer.id)
    return SignedIn(officer=officer, session_token=token)


def change_password(
    *, session: Session, officer_id: str, current_password: str, new_password: str, client_ip: str | None,
    now: datetime | None = None, settings: Settings | None = None,
) -> str:
    """The signed-in officer's own change; returns the token of a new session for the browser that made it.

    The current password is required and throttled like a sign-in (same counters): a stolen session cookie must
    not become a way to guess the password behind it. Every session of the officer ends, the one that made the
    change too (a copy of its cookie would otherwise survive); the caller signs the browser in with the new one.
    """
    settings = settings or get_settings()
    try:
        data = OfficerPassword(password=new_password)
    except ValidationError:
        raise InvalidInput(_PASSWORD_RULE, details={"fields": ["new_password"]}) from None
    officer = get_officer(session=session, officer_id=officer_id)
    now = _check_throttle(session=session, email=officer.email, client_ip=client_ip, now=now, settings=settings,
                          what="Too many wrong passwords")
    if len(current_password) > _MAX_PASSWORD or not verify_password(current_password, officer.password_hash):
        _count_failure(session=session, email=officer.email, client_ip=client_ip, now=now, settings=settings)
        raise WrongCurrentPassword("The current password is not correct.", details={"fields": ["current_password"]})
    throttle.clear(session=session, email=officer.email, settings=settings)
    officer.password_hash = hash_password(data.password)
    ended = officer_sessions.end_all(session=session, officer_id=officer.id, reason=SessionEndReason.password_changed,
                                     now=now)
    token = officer_sessions.start(session=session, officer_id=officer.id, now=now)
    audit_service.append(session=session, event="officer.password_changed", actor=f"officer:{officer.id}",
                         details={"officer_id": officer.id, "sessions_ended": ended})
    log.info("officer.password_changed", officer_id=officer.id, sessions_ended=ended)
    return token


def _audit_throttle_started(
    *, session: Session, scope: throttle.Scope, email: str, settings: Settings, now: datetime
) -> None:
    """Once per episode (the failure that blocks the address, or that starts the account's delays), not per
    refused attempt: the audit log is append-only, so one entry per refusal would let anyone grow it without
    bound."""
    details: dict[str, str | int] = {
        "scope": scope,
        "failures": throttle.limits(settings)[scope],
        "window_s": settings.sign_in_window_seconds,
    }
    if scope == "email" and len(email) <= _MAX_EMAIL:
        # Which account is under attack, by id (the email itself is never written): absent for unknown emails.
        officer_id = session.scalar(select(Officer.id).where(Officer.email == _normalise_email(email)))
        if officer_id:
            details["officer_id"] = officer_id
    audit_service.append(session=session, event="officer.sign_in_throttled", actor="system", details=details,
                         now=now)
    log.warning("officer.sign_in_throttled", scope=scope, officer_id=details.get("officer_id"))


def current_session_officer(
    *, session: Session, officer_id: str, session_token: str, now: datetime | None = None
) -> Officer | None:
    """The active officer of a live session, or None (ended, expired, unknown, or the officer is disabled)."""
    if officer_sessions.resolve(session=session, token=session_token, officer_id=officer_id, now=now) is None:
        return None
    officer = session.get(Officer, officer_id)
    return officer if officer is not None and officer.active else None


def sign_out(*, session: Session, officer_id: str, session_token: str) -> None:
    """End this session: a copy of the cookie stops working too. Nothing to do if it had already ended."""
    ended = officer_sessions.end(session=session, token=session_token)
    if ended is None or ended.officer_id != officer_id:
        return
    audit_service.append(session=session, event="officer.signed_out", actor=f"officer:{officer_id}")
    log.info("officer.signed_out", officer_id=officer_id)


def get_officer(*, session: Session, officer_id: str) -> Officer:
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise NotFound("No such officer.")
    return officer


def get_by_email(*, session: Session, email: str) -> Officer:
    officer = session.scalar(select(Officer).where(Officer.email == _normalise_email(email)))
    if officer is None:
        raise NotFound("No officer with this email.")
    return officer


def set_active(*, session: Session, email: str, active: bool, actor: str) -> Officer:
    """Disable (ending every session at once) or re-enable an officer; doing it twice changes nothing."""
    officer = get_by_email(session=session, email=email)
    if officer.active == active:
        return officer
    officer.active = active
    ended = 0
    if not active:
        ended = officer_sessions.end_all(session=session, officer_id=officer.id,
                                         reason=SessionEndReason.officer_disabled)
    session.flush()
    audit_service.append(session=session, event="officer.enabled" if active else "officer.disabled", actor=actor,
                         details={"officer_id": officer.id, "sessions_ended": ended})
    return officer


def set_password(*, session: Session, email: str, password: str, actor: str) -> Officer:
    """A new password ends every session: whoever had the old one (or a cookie) is signed out."""
    try:
        data = OfficerPassword(password=password)
    except ValidationError:
        raise InvalidInput(_PASSWORD_RULE, details={"fields": ["password"]}) from None
    officer = get_by_email(session=session, email=email)
    officer.password_hash = hash_password(data.password)
    ended = officer_sessions.end_all(session=session, officer_id=officer.id,
                                     reason=SessionEndReason.password_changed)
    session.flush()
    audit_service.append(session=session, event="officer.password_changed", actor=actor,
                         details={"officer_id": officer.id, "sessions_ended": ended})
    return officer


def end_sessions(*, session: Session, email: str, actor: str) -> int:
    """Sign the officer out everywhere (a lost laptop, a shared screen); returns how many sessions ended."""
    officer = get_by_email(session=session, email=email)
    ended = officer_sessions.end_all(session=session, officer_id=officer.id, reason=SessionEndReason.revoked)
    audit_service.append(session=session, event="officer.sessions_ended", actor=actor,
                         details={"officer_id": officer.id, "sessions_ended": ended})
    return ended


def count_officers(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Officer)) or 0
