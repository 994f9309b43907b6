"""The browser session of the HTML pages: a signed cookie holding the CSRF token, the signed-in officer and flashes.

The cookie is signed (itsdangerous, keyed by ``settings.secret_key``) and time-limited, HttpOnly, SameSite=Lax
and Secure when ``settings.session_cookie_secure``. It never holds personal data: only random tokens, the
officer's id and short flash messages written by the product itself. A signed-in officer's ``sid`` is the token
of a server-side session (``app.officers.sessions``): the signature proves the cookie is ours, the session row
proves it has not been signed out or revoked since.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from app.core.config import Settings
from app.officers import sessions as officer_sessions

COOKIE_NAME = "rtbf_session"
CSRF_FIELD = "csrf_token"
# An officer is signed out after this long, whatever they do; a subject's session only carries a CSRF token.
MAX_AGE_SECONDS = int(officer_sessions.MAX_AGE.total_seconds())
_SALT = "rtbf.pages.session"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key or "", salt=_SALT)


class PageSession:
    """A small dict-backed session that remembers whether it must be written back."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(data or {})
        self.modified = False

    @property
    def csrf_token(self) -> str:
        token = self.data.get("csrf")
        if not isinstance(token, str) or not token:
            token = secrets.token_urlsafe(32)
            self.data["csrf"] = token
            self.modified = True
        return token

    def csrf_matches(self, submitted: object) -> bool:
        expected = self.data.get("csrf")
        if not isinstance(expected, str) or not expected or not isinstance(submitted, str):
            return False
        return hmac.compare_digest(expected.encode(), submitted.encode())

    @property
    def officer_id(self) -> str | None:
        """The signed-in officer, or None; a sign-in older than MAX_AGE_SECONDS no longer counts."""
        value = self.data.get("officer_id")
        signed_in_at = self.data.get("signed_in_at")
        if not isinstance(value, str) or not isinstance(signed_in_at, int):
            return None
        # The cookie is re-signed whenever a flash is added, so its own timestamp is not an absolute limit.
        if not 0 <= time.time() - signed_in_at <= MAX_AGE_SECONDS:
            return None
        return value

    @property
    def officer_session_token(self) -> str | None:
        """The server-side session's token, when an officer is signed in (checked against the database)."""
        token = self.data.get("sid")
        return token if self.officer_id and isinstance(token, str) else None

    def sign_in(self, officer_id: str, session_token: str) -> None:
        """Start a fresh session (new id, new CSRF token) so nothing from before sign-in survives it."""
        self.data = {
            "sid": session_token,
            "csrf": secrets.token_urlsafe(32),
            "officer_id": officer_id,
            "signed_in_at": int(time.time()),
        }
        self.modified = True

    def sign_out(self) -> None:
        self.data = {"sid": secrets.token_urlsafe(16), "csrf": secrets.token_urlsafe(32)}
        self.modified = True

    def flash(self, message: str, kind: str = "success") -> None:
        self.data.setdefault("flashes", []).append({"kind": kind, "message": message})
        self.modified = True

    def pop_flashes(self) -> list[dict[str, str]]:
        flashes = self.data.pop("flashes", [])
        if flashes:
            self.modified = True
        return [f for f in flashes if isinstance(f, dict)]


def load(request: Request, settings: Settings) -> PageSession:
    """The session of this request (cached on ``request.state``); a bad or expired cookie starts an empty one."""
    cached = getattr(request.state, "page_session", None)
    if isinstance(cached, PageSession):
        return cached
    data: dict[str, Any] = {}
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        try:
            loaded = _serializer(settings).loads(raw, max_age=MAX_AGE_SECONDS)
            if isinstance(loaded, dict):
                data = loaded
        except BadData:
            data = {}
    session = PageSession(data)
    request.state.page_session = session
    return session


def current(request: Request) -> PageSession:
    return load(request, request.app.state.settings)


def encode(session: PageSession, settings: Settings) -> str:
    return _serializer(settings).dumps(session.data)


def save(response: Response, session: PageSession, settings: Settings) -> None:
    response.set_cookie(
        COOKIE_NAME,
        encode(session, settings),
        max_age=MAX_AGE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
