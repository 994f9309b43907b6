"""Officer sign-in throttling, kept in the database so that every web process counts the same failures.

Failed sign-ins are counted per client address and per email over a sliding window
(``settings.sign_in_window_seconds``):

- an address that reaches ``sign_in_max_failures_per_ip`` is blocked until enough of its failures leave the
  window: one source guessing at many accounts is stopped outright;
- an email is never blocked for the window, because anyone who knows an officer's email could then keep the
  officer out. Past ``sign_in_free_failures_per_email`` each attempt instead waits a delay after the account's
  last failure that doubles with every further failure, up to ``sign_in_delay_max_seconds`` (see ``delay``):
  guesses at one account from many addresses are slowed exponentially, and the officer waits a minute at most.

Both values are personal data, so a row holds their blind indexes (keyed HMAC, ``app.core.security.blind_index``),
never the values; rows older than the window are pruned whenever a failure is recorded.

One attempt's check (``blocked``) and record (``record_failure`` or ``clear``) must not interleave with another
attempt on the same email or address, or two web processes could both let a guess through at the limit. ``lock``
holds both keys until the transaction ends: on PostgreSQL with transaction-scoped advisory locks; SQLite already
serialises whole write transactions (``BEGIN IMMEDIATE``, ``app.core.db``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.security import blind_index
from app.officers.models import SignInFailure

Scope = Literal["email", "ip"]
_EMAIL_KIND = "officer_sign_in_email"
_IP_KIND = "officer_sign_in_ip"
# The advisory locks use PostgreSQL's two-int key space, which never meets the single-bigint key of the audit
# chain's lock: (this namespace, 32 bits of the blind index). Two indexes sharing 32 bits only queue up.
_LOCK_NAMESPACE = 0x52544254
# Past this exponent any configurable base is above any configurable cap (3600 s).
_MAX_DOUBLINGS = 12


@dataclass(frozen=True)
class Block:
    scope: Scope
    retry_at: datetime


def _keys(email: str, client_ip: str | None, settings: Settings) -> dict[Scope, str]:
    return {
        "email": blind_index(email, _EMAIL_KIND, settings=settings),
        # No address (a test client, a unix socket): all such callers share one counter, which errs on the
        # side of throttling.
        "ip": blind_index(client_ip or "unknown", _IP_KIND, settings=settings),
    }


def limits(settings: Settings) -> dict[Scope, int]:
    """The failure count at which each scope starts to throttle (the block, or the first delay)."""
    return {"email": settings.sign_in_free_failures_per_email, "ip": settings.sign_in_max_failures_per_ip}


def _window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.sign_in_window_seconds)


def delay(failures: int, settings: Settings) -> timedelta:
    """How long after its last failure an account with ``failures`` in the window waits (zero while free)."""
    extra = failures - settings.sign_in_free_failures_per_email
    if extra < 0:
        return timedelta(0)
    seconds = settings.sign_in_delay_base_seconds * 2 ** min(extra, _MAX_DOUBLINGS)
    return timedelta(seconds=min(seconds, settings.sign_in_delay_max_seconds))


def lock(*, session: Session, email: str, client_ip: str | None, settings: Settings) -> None:
    """Hold this email's and this address's throttle until the transaction ends (call before ``blocked``)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # Always in the same order: two attempts sharing one key must not each hold the other's second key.
    for key in sorted({int(index[:8], 16) - 2**31 for index in _keys(email, client_ip, settings).values()}):
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), CAST(:key AS integer))"),
                        {"ns": _LOCK_NAMESPACE, "key": key})


def _address_block(session: Session, key: str, now: datetime, settings: Settings) -> Block | None:
    # The limit-th newest failure in the window: once it leaves the window fewer than `limit` remain, so that
    # is when the address may try again.
    limit_th = session.scalar(
        select(SignInFailure.created_at)
        .where(SignInFailure.ip_index == key, SignInFailure.created_at > now - _window(settings))
        .order_by(SignInFailure.created_at.desc())
        .offset(settings.sign_in_max_failures_per_ip - 1)
        .limit(1)
    )
    return None if limit_th is None else Block("ip", limit_th + _window(settings))


def _account_delay(session: Session, key: str, now: datetime, settings: Settings) -> Block | None:
    failures, last = session.execute(
        select(func.count(), func.max(SignInFailure.created_at))
        .where(SignInFailure.email_index == key, SignInFailure.created_at > now - _window(settings))
    ).one()
    if failures < settings.sign_in_free_failures_per_email:
        return None
    retry_at = last + delay(failures, settings)
    return Block("email", retry_at) if retry_at > now else None


def blocked(
    *, session: Session, email: str, client_ip: str | None, now: datetime, settings: Settings
) -> Block | None:
    """The address's block or the account's delay in force now (the later one if both), or None."""
    keys = _keys(email, client_ip, settings)
    blocks = [_address_block(session, keys["ip"], now, settings),
              _account_delay(session, keys["email"], now, settings)]
    return max((b for b in blocks if b is not None), key=lambda b: b.retry_at, default=None)


def record_failure(
    *, session: Session, email: str, client_ip: str | None, now: datetime, settings: Settings
) -> list[Scope]:
    """Count one failed sign-in; returns the scopes that start throttling with this failure."""
    since = now - _window(settings)
    # Rows another attempt is pruning right now are skipped, not waited for: two prunes must not queue on
    # each other's rows (nor deadlock with a sign-in clearing its email's rows).
    stale = select(SignInFailure.id).where(SignInFailure.created_at <= since).with_for_update(skip_locked=True)
    session.execute(delete(SignInFailure).where(SignInFailure.id.in_(stale)))
    keys = _keys(email, client_ip, settings)
    session.add(SignInFailure(email_index=keys["email"], ip_index=keys["ip"], created_at=now))
    session.flush()
    reached: list[Scope] = []
    for scope, column in (("ip", SignInFailure.ip_index), ("email", SignInFailure.email_index)):
        count = session.scalar(
            select(func.count()).select_from(SignInFailure)
            .where(column == keys[scope], SignInFailure.created_at > since)
        )
        if count == limits(settings)[scope]:
            reached.append(scope)
    return reached


def clear(*, session: Session, email: str, settings: Settings) -> None:
    """Forget the email's failures after a successful sign-in.

    Only this email's rows go; the address's failures at other emails stay: otherwise one valid account would
    let its holder reset the per-address count between guesses at other accounts.
    """
    key = blind_index(email, _EMAIL_KIND, settings=settings)
    session.execute(delete(SignInFailure).where(SignInFailure.email_index == key))
    session.flush()
