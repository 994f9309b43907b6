"""Officer sign-in security: server-side sessions (sign-out, disable and password change end copied cookies)
and sign-in throttling per client address and per email, stored in the database without the email or address."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from itsdangerous import URLSafeTimedSerializer
from page_helpers import OFFICER_EMAIL, OFFICER_PASSWORD, build_app, csrf_token, sign_in
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.db import utcnow
from app.core.security import blind_index, sha256_hex
from app.officers import service as officer_service
from app.officers import throttle
from app.officers.models import Officer, OfficerSession, SessionEndReason, SignInFailure
from app.pages.session import COOKIE_NAME

OTHER_IP = "198.51.100.7"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _login(client: TestClient, *, email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD) -> Response:
    token = csrf_token(client.get("/officer/login").text)
    return client.post("/officer/login", data={"csrf_token": token, "email": email, "password": password})


def _session_token(client: TestClient, settings: Settings) -> str:
    data = URLSafeTimedSerializer(settings.secret_key or "", salt="rtbf.pages.session").loads(
        client.cookies[COOKIE_NAME]
    )
    return data["sid"]


def _audit(session: Session, event: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.event == event).order_by(AuditEntry.seq)))


def _failures(session: Session) -> list[SignInFailure]:
    session.expire_all()
    return list(session.scalars(select(SignInFailure)))


def _sessions(session: Session, officer: Officer) -> list[OfficerSession]:
    session.expire_all()
    return list(session.scalars(select(OfficerSession).where(OfficerSession.officer_id == officer.id)))


# ---- server-side sessions ------------------------------------------------------------------------------------


def test_a_copied_cookie_stops_working_after_sign_out(
    app: FastAPI, client: TestClient, officer: Officer, session: Session
) -> None:
    sign_in(client)
    copied = client.cookies[COOKIE_NAME]
    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set(COOKIE_NAME, copied)
        assert thief.get("/officer").status_code == 200

        token = csrf_token(client.get("/officer").text)
        assert client.post("/officer/logout", data={"csrf_token": token}).status_code == 303

        assert thief.get("/officer").status_code == 303
        thief.cookies.set(COOKIE_NAME, copied)  # the refusal cleared it: present the copy once more
        poll = thief.get("/officer/outbox", headers={"HX-Request": "true"})
        assert poll.headers["HX-Redirect"].startswith("/officer/login")

    (row,) = _sessions(session, officer)
    assert row.revoked_at is not None and row.revoked_reason == SessionEndReason.signed_out
    (entry,) = _audit(session, "officer.signed_out")
    assert entry.actor == f"officer:{officer.id}" and entry.details == {}


def test_the_database_holds_only_the_hash_of_the_session_token(
    client: TestClient, officer: Officer, session: Session, settings: Settings
) -> None:
    sign_in(client)
    token = _session_token(client, settings)
    (row,) = _sessions(session, officer)
    assert row.id == sha256_hex(token) != token
    assert row.created_at == row.last_seen_at and row.revoked_at is None
    (entry,) = _audit(session, "officer.signed_in")
    assert entry.actor == f"officer:{officer.id}"


def test_a_session_row_of_another_officer_is_not_accepted(
    client: TestClient, officer: Officer, session: Session, settings: Settings, officer_password_hash: str
) -> None:
    sign_in(client)
    other = Officer(id="00000000-0000-0000-0000-00000000000b", email="other@example.org", display_name="Other",
                    password_hash=officer_password_hash, active=True)
    session.add(other)
    session.execute(update(OfficerSession).values(officer_id=other.id))
    session.commit()
    assert client.get("/officer").status_code == 303


def test_disabling_an_officer_ends_their_sessions_for_good(
    officer_client: TestClient, officer: Officer, session: Session
) -> None:
    assert officer_client.get("/officer").status_code == 200
    copied = officer_client.cookies[COOKIE_NAME]
    officer_service.set_active(session=session, email=OFFICER_EMAIL, active=False, actor="cli")
    session.commit()
    assert officer_client.get("/officer").status_code == 303

    # Re-enabling the account does not bring the old cookie back: the session itself was ended.
    officer_service.set_active(session=session, email=OFFICER_EMAIL, active=True, actor="cli")
    session.commit()
    officer_client.cookies.set(COOKIE_NAME, copied)
    assert officer_client.get("/officer").status_code == 303
    (row,) = _sessions(session, officer)
    assert row.revoked_reason == SessionEndReason.officer_disabled
    (disabled,) = _audit(session, "officer.disabled")
    assert disabled.details == {"officer_id": officer.id, "sessions_ended": 1} and disabled.actor == "cli"
    assert [e.details for e in _audit(session, "officer.enabled")] == [{"officer_id": officer.id, "sessions_ended": 0}]

    sign_in(officer_client)  # the officer can sign in again, with a new session
    assert officer_client.get("/officer").status_code == 200


def test_a_new_password_ends_every_session_of_the_officer(
    app: FastAPI, client: TestClient, officer: Officer, session: Session
) -> None:
    sign_in(client)
    with TestClient(app, follow_redirects=False) as second_device:
        sign_in(second_device)
        assert client.get("/officer").status_code == 200 and second_device.get("/officer").status_code == 200

        officer_service.set_password(session=session, email=OFFICER_EMAIL, password="a brand new passphrase",
                                     actor="cli")
        session.commit()
        assert client.get("/officer").status_code == 303 and second_device.get("/officer").status_code == 303

    assert {r.revoked_reason for r in _sessions(session, officer)} == {SessionEndReason.password_changed}
    (entry,) = _audit(session, "officer.password_changed")
    assert entry.details == {"officer_id": officer.id, "sessions_ended": 2}
    assert _login(client).status_code == 401
    assert _login(client, password="a brand new passphrase").status_code == 303


def test_ending_all_sessions_leaves_the_account_usable(officer_client: TestClient, officer: Officer,
                                                      session: Session) -> None:
    assert officer_service.end_sessions(session=session, email=OFFICER_EMAIL, actor="cli") == 1
    session.commit()
    assert officer_client.get("/officer").status_code == 303
    assert _audit(session, "officer.sessions_ended")[0].details == {"officer_id": officer.id, "sessions_ended": 1}
    sign_in(officer_client)
    assert officer_client.get("/officer").status_code == 200


def test_short_or_unknown_new_passwords_are_refused(officer: Officer, session: Session) -> None:
    from app.core.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput, match="12 characters"):
        officer_service.set_password(session=session, email=OFFICER_EMAIL, password="short", actor="cli")
    with pytest.raises(NotFound):
        officer_service.set_password(session=session, email="nobody@example.org", password="long enough one",
                                     actor="cli")


def test_expired_sessions_are_dropped_when_a_new_one_starts(
    client: TestClient, officer: Officer, session: Session
) -> None:
    sign_in(client)
    session.execute(update(OfficerSession).values(created_at=utcnow() - timedelta(hours=9)))
    session.commit()
    assert client.get("/officer").status_code == 303
    sign_in(client)
    assert len(_sessions(session, officer)) == 1


# ---- throttling ----------------------------------------------------------------------------------------------


def _fail(client: TestClient, times: int, *, email: str = OFFICER_EMAIL) -> None:
    for _ in range(times):
        assert _login(client, email=email, password="wrong password!").status_code == 401


def test_after_five_failures_even_the_right_password_gets_429(
    client: TestClient, officer: Officer, session: Session
) -> None:
    _fail(client, 5)
    response = _login(client)
    assert response.status_code == 429
    # The account waits seconds after its last failure, not the window (tests/core/test_sign_in_throttle.py).
    assert re.search(r"Too many failed sign-in attempts\. Try again in \d seconds?\.", response.text)
    assert 1 <= int(response.headers["Retry-After"]) <= 5
    assert OFFICER_PASSWORD not in response.text
    assert client.get("/officer").status_code == 303  # no session was opened
    assert not _sessions(session, officer) and not _audit(session, "officer.signed_in")

    # Guesses made while throttled are not even checked, so they do not count (or extend the block).
    assert _login(client, password="another guess!").status_code == 429
    assert len(_failures(session)) == 5
    session.expire_all()
    assert session.get(Officer, officer.id).last_login_at is None


def test_the_block_lifts_when_the_failures_leave_the_window(
    client: TestClient, officer: Officer, session: Session, settings: Settings
) -> None:
    _fail(client, 5)
    assert _login(client).status_code == 429
    # Only the oldest failure leaves the window: four remain, under the limit.
    oldest = min(f.id for f in _failures(session))
    session.execute(update(SignInFailure).where(SignInFailure.id == oldest)
                    .values(created_at=utcnow() - timedelta(seconds=settings.sign_in_window_seconds + 1)))
    session.commit()
    assert _login(client).status_code == 303
    assert not _failures(session)  # the success cleared the email's failures (the old one went with them)


def test_an_address_retry_time_is_when_the_limit_th_newest_failure_leaves_the_window(
    session: Session, settings: Settings
) -> None:
    strict = settings.model_copy(update={"sign_in_max_failures_per_ip": 5})
    now = utcnow()
    for minutes_ago in (14, 10, 9, 8, 7, 1):
        throttle.record_failure(session=session, email=f"a{minutes_ago}@example.org", client_ip="192.0.2.1",
                                now=now - timedelta(minutes=minutes_ago), settings=strict)
    block = throttle.blocked(session=session, email="b@example.org", client_ip="192.0.2.1", now=now,
                             settings=strict)
    assert block is not None and block.scope == "ip"
    assert block.retry_at == now - timedelta(minutes=10) + timedelta(seconds=settings.sign_in_window_seconds)


def test_a_success_clears_the_email_failures(client: TestClient, officer: Officer, session: Session) -> None:
    _fail(client, 4)
    assert _login(client).status_code == 303
    assert not _failures(session)
    token = csrf_token(client.get("/officer").text)
    client.post("/officer/logout", data={"csrf_token": token})
    _fail(client, 4)  # a fresh count: four more failures are still under the limit
    assert _login(client).status_code == 303


def test_unknown_and_known_emails_are_throttled_alike(
    client: TestClient, officer: Officer, session: Session
) -> None:
    _fail(client, 5, email="nobody@example.org")
    unknown = _login(client, email="nobody@example.org")
    _fail(client, 5)
    known = _login(client)
    assert unknown.status_code == known.status_code == 429

    def message(r: Response) -> str:
        return re.sub(r"\d", "0", re.search(r'id="login-error">([^<]*)<', r.text).group(1))

    assert message(unknown) == message(known)
    # Audited once per block, not per refusal; the known account is named by id, the unknown one not at all.
    entries = _audit(session, "officer.sign_in_throttled")
    assert [e.details for e in entries] == [
        {"scope": "email", "failures": 5, "window_s": 900},
        {"scope": "email", "failures": 5, "window_s": 900, "officer_id": officer.id},
    ]


def test_emails_differing_in_case_and_spaces_share_one_count(client: TestClient, officer: Officer) -> None:
    for email in ("Officer@Example.org", " officer@example.org", "OFFICER@EXAMPLE.ORG", "officer@example.org",
                  "officer@Example.ORG "):
        _fail(client, 1, email=email)
    assert _login(client).status_code == 429


def test_per_address_limit_across_many_emails(session: Session, settings: Settings, officer: Officer) -> None:
    strict = settings.model_copy(update={"sign_in_max_failures_per_ip": 3})
    app = build_app(session, strict)
    with TestClient(app, follow_redirects=False) as attacker:
        for n in range(3):
            _fail(attacker, 1, email=f"guess{n}@example.org")
        blocked = _login(attacker)
        assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.text
    with TestClient(app, follow_redirects=False, client=(OTHER_IP, 50000)) as elsewhere:
        assert _login(elsewhere).status_code == 303
    (entry,) = _audit(session, "officer.sign_in_throttled")
    assert entry.details == {"scope": "ip", "failures": 3, "window_s": 900}


def test_neither_the_email_nor_the_address_is_stored_in_clear(
    session: Session, settings: Settings, officer: Officer
) -> None:
    app = build_app(session, settings)
    with TestClient(app, follow_redirects=False, client=(OTHER_IP, 50000)) as client:
        _fail(client, 5, email="Officer@Example.org")
        assert _login(client).status_code == 429
    rows = _failures(session)
    assert len(rows) == 5
    assert {r.email_index for r in rows} == {blind_index(OFFICER_EMAIL, "officer_sign_in_email", settings=settings)}
    assert {r.ip_index for r in rows} == {blind_index(OTHER_IP, "officer_sign_in_ip", settings=settings)}
    dump = " ".join(f"{r.email_index} {r.ip_index}" for r in rows).lower()
    audit = " ".join(f"{e.actor} {e.details}" for e in _audit(session, "officer.sign_in_throttled")).lower()
    for clear in ("officer@example.org", "example.org", OTHER_IP):
        assert clear not in dump and clear not in audit


def test_old_failures_are_pruned_when_a_failure_is_recorded(session: Session, settings: Settings) -> None:
    now = utcnow()
    window = timedelta(seconds=settings.sign_in_window_seconds)
    throttle.record_failure(session=session, email="old@example.org", client_ip="192.0.2.1",
                            now=now - window - timedelta(minutes=1), settings=settings)
    throttle.record_failure(session=session, email="recent@example.org", client_ip="192.0.2.1",
                            now=now - window + timedelta(minutes=1), settings=settings)
    throttle.record_failure(session=session, email="new@example.org", client_ip="192.0.2.2", now=now,
                            settings=settings)
    assert session.scalar(select(func.count()).select_from(SignInFailure)) == 2


@pytest.mark.parametrize("field", ["sign_in_free_failures_per_email", "sign_in_max_failures_per_ip",
                                   "sign_in_delay_base_seconds", "sign_in_delay_max_seconds",
                                   "sign_in_window_seconds"])
def test_throttle_settings_are_validated(settings: Settings, field: str) -> None:
    assert (settings.sign_in_free_failures_per_email, settings.sign_in_max_failures_per_ip,
            settings.sign_in_window_seconds) == (5, 20, 900)
    with pytest.raises(ValidationError, match=field):
        Settings(data_dir=settings.data_dir, **{field: 0})



SIGN_IN_FLOW = f"""
import re
from fastapi.testclient import TestClient
from app.main import create_app
from app.officers import service
app = create_app()
with app.state.session_factory() as db:
    officer = service.create_officer(session=db, email={OFFICER_EMAIL!r}, password={OFFICER_PASSWORD!r}, name='O')
    db.commit()
    print('officer-id', officer.id)
with TestClient(app, follow_redirects=False, client=({OTHER_IP!r}, 50000)) as c:
    for password in ['wrong password!'] * 5 + [{OFFICER_PASSWORD!r}]:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get('/officer/login').text).group(1)
        r = c.post('/officer/login', data={{'csrf_token': token, 'email': {OFFICER_EMAIL!r}, 'password': password}})
    assert r.status_code == 429, r.status_code
"""


def test_sign_in_logs_name_ids_never_the_email_or_address(make_database, settings: Settings) -> None:
    # A fresh process: the test process's structlog may be bound to an earlier test's captured stderr.
    env = dict(os.environ, DATABASE_URL=make_database(), RTBF_DATA_DIR=str(settings.data_dir), RTBF_LOG_LEVEL="DEBUG",
               PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run([sys.executable, "-c", SIGN_IN_FLOW], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    officer_id = re.search(r"officer-id (\S+)", output).group(1)
    throttled = [line for line in output.splitlines() if '"officer.sign_in_throttled"' in line]
    assert len(throttled) == 1 and officer_id in throttled[0]
    for clear in (OFFICER_EMAIL, OTHER_IP, "wrong password!", OFFICER_PASSWORD):
        assert clear not in output
