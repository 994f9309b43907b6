"""Officer sign-in throttling, kept in the database so that every web process counts the same failures.

Failed sign-ins are counted per email and per client address over a sliding window
(``settings.sign_in_window_seconds``). Both are personal data, so a row holds their blind indexes (keyed
HMAC, ``app.core.security.blind_index``), never the values; rows older than the window are pruned whenever
a failure is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.config import Settings
from app.core.security import blind_index
from app.officers.models import SignInFailure

Scope = Literal["email", "ip"]
_EMAIL_KIND = "officer_sign_in_email"
_IP_KIND = "officer_sign_in_ip"


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
    return {"email": settings.sign_in_max_failures_per_email, "ip": settings.sign_in_max_failures_per_ip}


def _column(scope: Scope) -> InstrumentedAttribute[str]:
    return SignInFailure.email_index if scope == "email" else SignInFailure.ip_index


def _window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.sign_in_window_seconds)


def blocked(
    *, session: Session, email: str, client_ip: str | None, now: datetime, settings: Settings
) -> Block | None:
    """The block in force for this email or address (the later one if both), or None."""
    since = now - _window(settings)
    blocks = []
    for scope, key in _keys(email, client_ip, settings).items():
        # The limit-th newest failure in the window: once it leaves the window fewer than `limit` remain,
        # so that is when a sign-in may be tried again.
        limit_th = session.scalar(
            select(SignInFailure.created_at)
            .where(_column(scope) == key, SignInFailure.created_at > since)
            .order_by(SignInFailure.created_at.desc())
            .offset(limits(settings)[scope] - 1)
            .limit(1)
        )
        if limit_th is not None:
            blocks.append(Block(scope, limit_th + _window(settings)))
    return max(blocks, key=lambda b: b.retry_at, default=None)


def record_failure(
    *, session: Session, email: str, client_ip: str | None, now: datetime, settings: Settings
) -> list[Scope]:
    """Count one failed sign-in; returns the scopes whose limit this failure reached (a block starts now)."""
    since = now - _window(settings)
    session.execute(delete(SignInFailure).where(SignInFailure.created_at <= since))
    keys = _keys(email, client_ip, settings)
    session.add(SignInFailure(email_index=keys["email"], ip_index=keys["ip"], created_at=now))
    session.flush()
    reached: list[Scope] = []
    for scope, key in keys.items():
        count = session.scalar(
            select(func.count()).select_from(SignInFailure)
            .where(_column(scope) == key, SignInFailure.created_at > since)
        )
        if count == limits(settings)[scope]:
            reached.append(scope)
    return reached


def clear(*, session: Session, email: str, settings: Settings) -> None:
    """Forget the email's failures after a successful sign-in.

    The address's failures stay: otherwise one valid account would let its holder reset the per-address count
    between guesses at other accounts.
    """
    key = blind_index(email, _EMAIL_KIND, settings=settings)
    session.execute(delete(SignInFailure).where(SignInFailure.email_index == key))
    session.flush()
