"""Page tests: FastAPI's TestClient on the real app, whose database session is the test's rolled-back one."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_helpers import OFFICER_EMAIL, OFFICER_PASSWORD, build_app
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.security import hash_password
from app.officers import sessions as officer_sessions
from app.officers.models import Officer
from app.pages.session import COOKIE_NAME, PageSession, encode
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate


@pytest.fixture
def app(session: Session, settings: Settings) -> FastAPI:
    return build_app(session, settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def officer_password_hash() -> str:
    # argon2 is slow on purpose: hash once per test session, not once per test.
    return hash_password(OFFICER_PASSWORD)


@pytest.fixture
def officer(session: Session, officer_password_hash: str) -> Officer:
    created = Officer(
        id=str(uuid.uuid4()), email=OFFICER_EMAIL, display_name="Olga Officer",
        password_hash=officer_password_hash, active=True,
    )
    session.add(created)
    session.commit()
    return created


@pytest.fixture
def officer_client(client: TestClient, officer: Officer, settings: Settings, session: Session) -> TestClient:
    """Signed in by cookie and a server-side session (the sign-in form itself is tested in test_officer_auth.py)."""
    token = officer_sessions.start(session=session, officer_id=officer.id)
    session.commit()
    browser = PageSession()
    browser.sign_in(officer.id, token)
    client.cookies.set(COOKIE_NAME, encode(browser, settings))
    return client


@pytest.fixture
def make_request(session: Session) -> Callable[..., ErasureRequest]:
    """A request already verified (pending review), as the API files them; ``now`` sets its receipt time."""
    counter = itertools.count(1)

    def factory(*, email: str | None = None, now: datetime | None = None, verified: bool = True) -> ErasureRequest:
        data = RequestCreate(
            full_name="Grace Hopper",
            email=email or f"subject{next(counter)}@example.org",
            phone="+44 20 7946 0000",
            details="My home address and phone number.",
            target_model="demo-assistant",
        )
        created = request_service.create_request(
            session=session, data=data, channel="api", verified=verified,
            actor="apikey:test" if verified else None, now=now,
        )
        session.commit()
        return created.request

    return factory


@pytest.fixture
def make_web_request(session: Session) -> Callable[..., tuple[ErasureRequest, str]]:
    """An unverified request as the web form files it, with its plaintext status token."""

    def factory(email: str = "subject@example.org") -> tuple[ErasureRequest, str]:
        created = request_service.create_request(
            session=session, data=RequestCreate(full_name="Ada Lovelace", email=email), channel="web"
        )
        session.commit()
        return created.request, created.status_token

    return factory
