"""The request-scoped session: commits once on success, rolls back on error, keeps a counted wrong code."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit import service as audit_service
from app.audit.models import AuditEntry
from app.core.deps import SessionDep
from app.core.errors import CodeRejected, InvalidInput
from app.core.handlers import install_error_handlers


@pytest.fixture
def client(session):
    app = FastAPI()
    app.state.session_factory = lambda: session
    install_error_handlers(app)

    @app.post("/api/write/{outcome}")
    def write(outcome: str, db: SessionDep) -> dict[str, str]:
        audit_service.append(session=db, event="test.write", actor="system", details={"outcome": outcome})
        if outcome == "invalid":
            raise InvalidInput("bad input")
        if outcome == "wrong_code":
            raise CodeRejected("wrong code")
        if outcome == "crash":
            raise RuntimeError("boom")
        return {"ok": outcome}

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize(("outcome", "status", "kept"), [("fine", 200, 1), ("invalid", 422, 0), ("wrong_code", 422, 1),
                                                          ("crash", 500, 0)])
def test_commit_or_rollback(client, session, outcome, status, kept) -> None:
    response = client.post(f"/api/write/{outcome}")
    assert response.status_code == status
    assert _count(session) == kept
