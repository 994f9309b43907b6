"""Helpers shared by the page tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.main import create_app
from app.notifications import service as notification_service
from app.notifications.models import OutboxMessage
from app.requests.models import ErasureRequest

OFFICER_EMAIL = "officer@example.org"
OFFICER_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def flashes(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<div class="notice [a-z]*" role="[a-z]+">([^<]*)</div>', html)]


def counts(session: Session) -> tuple[int, int, int]:
    """(requests, outbox messages, audit entries): what a refused action must leave unchanged."""
    return (
        session.scalar(select(func.count()).select_from(ErasureRequest)) or 0,
        session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )


def sign_in(client: TestClient, *, email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD) -> None:
    token = csrf_token(client.get("/officer/login").text)
    response = client.post("/officer/login", data={"csrf_token": token, "email": email, "password": password})
    assert response.status_code == 303, response.text


def latest_code(session: Session, request_id: str) -> str:
    """The 6-digit code of the newest verification email, read from the outbox as a developer would."""
    messages = notification_service.list_outbox(session=session, limit=50, request_id=request_id)
    for message in messages:
        if message.kind == "verification_code":
            match = re.search(r"verification code is: (\d{6})\b", message.body)
            assert match, "the verification email carries no 6-digit code"
            return match.group(1)
    raise AssertionError("no verification email in the outbox")


def reload(session: Session, req: ErasureRequest) -> ErasureRequest:
    """The request as stored now (the app closes the shared session after each request, detaching objects)."""
    session.expire_all()
    stored = session.get(ErasureRequest, req.id)
    assert stored is not None
    return stored


def build_app(session: Session, settings: Settings) -> FastAPI:
    app = create_app(settings)
    # Every request of the app works in the test's transaction, which is rolled back at the end.
    app.state.session_factory = lambda: session
    return app
