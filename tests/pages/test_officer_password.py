"""An officer changes their own password in the console: current password required, CSRF, the creation rules,
every other session ended, and the new password (not the old one) signs in afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from page_helpers import OFFICER_EMAIL, OFFICER_PASSWORD, build_app, csrf_token, flashes, sign_in
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.officers.models import Officer
from app.pages.session import COOKIE_NAME

NEW_PASSWORD = "a completely new passphrase"


@pytest.fixture
def second_device(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as other:
        yield other


def _change(client: TestClient, current: str, new: str = NEW_PASSWORD, repeat: str | None = None) -> Response:
    token = csrf_token(client.get("/officer/password").text)
    return client.post("/officer/password", data={
        "csrf_token": token, "current_password": current, "new_password": new,
        "repeat_password": new if repeat is None else repeat,
    })


def _stored_hash(session: Session, officer: Officer) -> str:
    session.expire_all()
    return session.get(Officer, officer.id).password_hash


def _password_audit(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.event == "officer.password_changed")))


def _signs_in(app: FastAPI, password: str) -> bool:
    with TestClient(app, follow_redirects=False) as fresh:
        token = csrf_token(fresh.get("/officer/login").text)
        response = fresh.post("/officer/login",
                              data={"csrf_token": token, "email": OFFICER_EMAIL, "password": password})
        assert response.status_code in (303, 401), response.status_code
        return response.status_code == 303


def test_every_officer_page_links_to_the_password_form(officer_client: TestClient) -> None:
    assert 'href="/officer/password"' in officer_client.get("/officer").text
    page = officer_client.get("/officer/password")
    assert page.status_code == 200
    for field, autocomplete in (("current_password", "current-password"), ("new_password", "new-password"),
                                ("repeat_password", "new-password")):
        assert f'name="{field}" type="password" value=""' in page.text
        assert f'autocomplete="{autocomplete}"' in page.text


def test_the_password_page_needs_a_signed_in_officer(client: TestClient, officer: Officer, session: Session) -> None:
    before = _stored_hash(session, officer)
    assert client.get("/officer/password").headers["location"].startswith("/officer/login")
    token = csrf_token(client.get("/officer/login").text)
    response = client.post("/officer/password", data={"csrf_token": token, "current_password": OFFICER_PASSWORD,
                                                      "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["location"].startswith("/officer/login")
    assert _stored_hash(session, officer) == before


def test_a_change_without_the_csrf_token_is_refused(officer_client: TestClient, officer: Officer,
                                                    session: Session) -> None:
    before = _stored_hash(session, officer)
    response = officer_client.post("/officer/password", data={
        "current_password": OFFICER_PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 403
    assert _stored_hash(session, officer) == before and not _password_audit(session)


def test_a_wrong_current_password_changes_nothing(
    app: FastAPI, client: TestClient, second_device: TestClient, officer: Officer, session: Session
) -> None:
    sign_in(client)
    sign_in(second_device)
    before = _stored_hash(session, officer)
    response = _change(client, current="not my password")
    assert response.status_code == 422
    assert "The current password is not correct." in response.text
    assert "not my password" not in response.text and NEW_PASSWORD not in response.text
    assert _stored_hash(session, officer) == before and not _password_audit(session)
    assert client.get("/officer").status_code == 200 and second_device.get("/officer").status_code == 200
    assert _signs_in(app, OFFICER_PASSWORD) and not _signs_in(app, NEW_PASSWORD)


@pytest.mark.parametrize(("new", "repeat", "message"), [
    ("too short", "too short", "The password needs at least 12 characters (at most 256)."),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "The two new passwords are not the same."),
])
def test_a_new_password_must_follow_the_rules_and_be_typed_twice(
    officer_client: TestClient, officer: Officer, session: Session, new: str, repeat: str, message: str
) -> None:
    before = _stored_hash(session, officer)
    response = _change(officer_client, current=OFFICER_PASSWORD, new=new, repeat=repeat)
    assert response.status_code == 422 and message in response.text
    assert _stored_hash(session, officer) == before and not _password_audit(session)
    assert officer_client.get("/officer").status_code == 200


def test_a_change_ends_the_other_sessions_and_keeps_this_browser_signed_in(
    app: FastAPI, client: TestClient, second_device: TestClient, officer: Officer, session: Session
) -> None:
    sign_in(client)
    sign_in(second_device)
    copied = client.cookies[COOKIE_NAME]

    response = _change(client, current=OFFICER_PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/officer/password"
    page = client.get("/officer/password")
    assert "Your password has been changed. Every other session of yours has been signed out." in flashes(page.text)
    assert client.get("/officer").status_code == 200
    assert second_device.get("/officer").status_code == 303
    # The browser that made the change holds a new session: a copy of its old cookie was ended with the rest.
    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set(COOKIE_NAME, copied)
        assert thief.get("/officer").status_code == 303

    (entry,) = _password_audit(session)
    assert entry.actor == f"officer:{officer.id}"
    assert entry.details == {"officer_id": officer.id, "sessions_ended": 2}
    assert _signs_in(app, NEW_PASSWORD) and not _signs_in(app, OFFICER_PASSWORD)


def test_guessing_the_current_password_is_throttled(
    session: Session, settings: Settings, officer: Officer, officer_password_hash: str
) -> None:
    strict = settings.model_copy(update={"sign_in_free_failures_per_email": 2, "sign_in_delay_base_seconds": 600,
                                         "sign_in_delay_max_seconds": 600})
    with TestClient(build_app(session, strict), follow_redirects=False) as stolen_session:
        sign_in(stolen_session)
        for guess in ("first guess!!", "second guess!"):
            assert _change(stolen_session, current=guess).status_code == 422
        # Even the right password is not checked now: guesses made while throttled are worthless.
        throttled = _change(stolen_session, current=OFFICER_PASSWORD)
        assert throttled.status_code == 429
        assert re.search(r"Too many wrong passwords\. Try again after \d\d:\d\d UTC \(in 10 minutes\)\.",
                         throttled.text)
        assert 590 < int(throttled.headers["Retry-After"]) <= 600
    assert _stored_hash(session, officer) == officer_password_hash and not _password_audit(session)
