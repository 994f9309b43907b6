"""The 6-digit email code: generated with ``secrets``, stored only as a keyed hash, TTL + attempt limit."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from app.core.config import Settings
from app.core.errors import CodeRejected, InvalidInput
from app.core.security import constant_time_equals, keyed_hash
from app.requests.models import OneTimeCode

CODE_PATTERN = re.compile(r"^\d{6}$")


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_hash(*, request_id: str, code: str, settings: Settings) -> str:
    # Keyed and bound to the request: a leaked table does not allow an offline search of 10^6 codes.
    return keyed_hash(f"{request_id}:{code}", kind="otp", settings=settings)


def issue(*, otp: OneTimeCode, request_id: str, now: datetime, settings: Settings) -> str:
    """(Re)arm ``otp`` with a fresh code and return the plaintext, which only goes into the email."""
    code = new_code()
    otp.code_hash = code_hash(request_id=request_id, code=code, settings=settings)
    otp.expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
    otp.attempts = 0
    otp.used_at = None
    otp.invalidated_at = None
    return code


def check(*, otp: OneTimeCode, request_id: str, code: str, now: datetime, settings: Settings) -> None:
    """Accept the code or raise ``CodeRejected`` after recording the failed attempt on ``otp``."""
    code = code.strip().replace(" ", "")
    if not CODE_PATTERN.match(code):
        raise InvalidInput("The code is the 6 digits from the email.", code="validation_error")
    if otp.used_at is not None:
        raise CodeRejected("This code was already used.", code="code_used")
    if otp.invalidated_at is not None:
        raise CodeRejected(
            "Too many wrong attempts: this code no longer works. Ask for a new code.",
            code="code_invalidated",
            details={"attempts_left": 0},
        )
    if now >= otp.expires_at:
        raise CodeRejected("This code has expired. Ask for a new code.", code="code_expired")
    if not constant_time_equals(otp.code_hash, code_hash(request_id=request_id, code=code, settings=settings)):
        otp.attempts += 1
        left = max(settings.otp_max_attempts - otp.attempts, 0)
        if left == 0:
            otp.invalidated_at = now
        raise CodeRejected(
            "The code is not correct." + (" Ask for a new code." if left == 0 else ""),
            code="invalid_code",
            details={"attempts_left": left},
        )
    otp.used_at = now
