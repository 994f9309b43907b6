"""Officer sign-in: login required everywhere under /officer, argon2 password check, session cookie, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from fastapi.testclient import TestClient
from page_helpers import OFFICER_EMAIL, OFFICER_PASSWORD, build_app, csrf_token, flashes, sign_in
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.officers import sessions as officer_sessions
from app.officers.models import Officer, OfficerSession
from app.pages.session import COOKIE_NAME, MAX_AGE_SECONDS, PageSession, encode


@pytest.mark.parametrize("path", ["/officer", "/officer/outbox", "/officer/requests/00000000-0000-0000-0000-000000000000"])
def test_officer_pages_redirect_to_sign_in_without_a_session(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/officer/login?next=")


def test_officer_actions_without_a_session_change_nothing(client: TestClient) -> None:
    token = csrf_token(client.get("/officer/login").text)
    response = client.post(
        "/officer/requests/00000000-0000-0000-0000-000000000000/approve",
        data={"csrf_token": token, "ground": "objection"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/officer/login")


def test_wrong_password_is_refused_and_gives_no_session(client: TestClient, officer: Officer) -> None:
    token = csrf_token(client.get("/officer/login").text)
    response = client.post(
        "/officer/login", data={"csrf_token": token, "email": OFFICER_EMAIL, "password": "not the password"}
    )
    assert response.status_code == 401
    assert "The email address or password is not correct." in response.text
    assert f'value="{OFFICER_EMAIL}"' in response.text  # the email is kept, the password never echoed
    assert "not the password" not in response.text
    assert client.get("/officer").status_code == 303


def test_unknown_email_gets_the_same_message(client: TestClient, officer: Officer) -> None:
    token = csrf_token(client.get("/officer/login").text)
    response = client.post(
        "/officer/login", data={"csrf_token": token, "email": "nobody@example.org", "password": OFFICER_PASSWORD}
    )
    assert response.status_code == 401
    assert "The email address or password is not correct." in response.text


def test_inactive_officer_cannot_sign_in(client: TestClient, officer: Officer, session: Session) -> None:
    officer.active = False
    session.commit()
    token = csrf_token(client.get("/officer/login").text)
    response = client.post(
        "/officer/login", data={"csrf_token": token, "email": OFFICER_EMAIL, "password": OFFICER_PASSWORD}
    )
    assert response.status_code == 401


def test_sign_in_without_csrf_is_refused(client: TestClient, officer: Officer) -> None:
    client.get("/officer/login")
    response = client.post("/officer/login", data={"email": OFFICER_EMAIL, "password": OFFICER_PASSWORD})
    assert response.status_code == 403
    assert client.get("/officer").status_code == 303


def test_sign_in_rotates_the_session_and_sets_safe_cookie_flags(client: TestClient, officer: Officer) -> None:
    anonymous_token = csrf_token(client.get("/officer/login").text)
    response = client.post(
        "/officer/login",
        data={"csrf_token": anonymous_token, "email": OFFICER_EMAIL, "password": OFFICER_PASSWORD,
              "next": "/officer/outbox"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/officer/outbox"
    cookie = response.headers["set-cookie"].lower()
    assert f"{COOKIE_NAME}=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # test settings: session_cookie_secure is False

    queue = client.get("/officer")
    assert queue.status_code == 200
    assert "Olga Officer" in queue.text
    assert csrf_token(queue.text) != anonymous_token  # a token seen before sign-in is worthless after it


def test_cookie_is_secure_when_configured(session: Session, settings: Settings, officer: Officer) -> None:
    app = build_app(session, settings.model_copy(update={"session_cookie_secure": True}))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure_client:
        response = secure_client.get("/officer/login")
    assert "secure" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/officer", "/officer/login", "/"])
def test_sign_in_never_redirects_off_the_officer_console(client: TestClient, officer: Officer, target: str) -> None:
    token = csrf_token(client.get("/officer/login").text)
    response = client.post(
        "/officer/login",
        data={"csrf_token": token, "email": OFFICER_EMAIL, "password": OFFICER_PASSWORD, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/officer"


def test_tampered_or_forged_session_cookie_is_ignored(client: TestClient, officer: Officer) -> None:
    sign_in(client)
    value = client.cookies.get(COOKIE_NAME)
    assert value
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/officer").status_code == 303

    forged = URLSafeTimedSerializer("not-the-secret-key", salt="rtbf.pages.session").dumps(
        {"officer_id": officer.id, "csrf": "x"}
    )
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, forged)
    assert client.get("/officer").status_code == 303


def test_officer_session_expires_after_its_maximum_age(
    client: TestClient, officer: Officer, settings: Settings, session: Session
) -> None:
    started = utcnow() - timedelta(seconds=MAX_AGE_SECONDS - 60)  # just inside the limit
    token = officer_sessions.start(session=session, officer_id=officer.id, now=started)
    session.commit()
    browser = PageSession()
    browser.sign_in(officer.id, token)
    browser.data["signed_in_at"] = int(started.timestamp())
    client.cookies.set(COOKIE_NAME, encode(browser, settings))
    assert client.get("/officer").status_code == 200

    # The cookie's own clock and the server's session each end it: past the limit on either, it is refused.
    browser.data["signed_in_at"] -= 120
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, encode(browser, settings))
    assert client.get("/officer").status_code == 303

    browser.data["signed_in_at"] += 120
    session.execute(update(OfficerSession).values(created_at=started - timedelta(seconds=120)))
    session.commit()
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, encode(browser, settings))
    assert client.get("/officer").status_code == 303


def test_deactivated_officer_is_signed_out(officer_client: TestClient, officer: Officer, session: Session) -> None:
    assert officer_client.get("/officer").status_code == 200
    session.execute(update(Officer).where(Officer.id == officer.id).values(active=False))
    session.commit()
    assert officer_client.get("/officer").status_code == 303


def test_sign_out_needs_csrf_and_ends_the_session(officer_client: TestClient) -> None:
    assert officer_client.post("/officer/logout", data={}).status_code == 403
    assert officer_client.get("/officer").status_code == 200

    token = csrf_token(officer_client.get("/officer").text)
    response = officer_client.post("/officer/logout", data={"csrf_token": token})
    assert response.status_code == 303
    login_page = officer_client.get(response.headers["location"])
    assert "You have signed out." in flashes(login_page.text)
    assert officer_client.get("/officer").status_code == 303
