"""Code entry, resend and the subject's status page (due date, decision, what happens next)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from page_helpers import counts, csrf_token, flashes, latest_code, reload
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.pages.templating import date_long
from app.requests import service as request_service
from app.requests.grounds import DenialGround
from app.requests.models import ErasureRequest, OneTimeCode
from app.requests.statuses import RequestStatus

WebRequestFactory = Callable[..., tuple[ErasureRequest, str]]


def test_wrong_code_is_refused_counted_and_the_right_one_verifies(
    client: TestClient, session: Session, make_web_request: WebRequestFactory
) -> None:
    req, token = make_web_request()
    page = client.get(f"/status/{token}/verify")
    form = csrf_token(page.text)
    code = latest_code(session, req.id)
    wrong = "000000" if code != "000000" else "111111"

    response = client.post(f"/status/{token}/verify", data={"csrf_token": form, "code": wrong})
    assert response.status_code == 422
    assert "The code is not correct." in response.text
    req = reload(session, req)
    assert req.status == RequestStatus.identity_unverified
    assert req.code is not None and req.code.attempts == 1  # the failed try is kept, not rolled back

    response = client.post(f"/status/{token}/verify", data={"csrf_token": form, "code": code})
    assert response.status_code == 303
    assert response.headers["location"] == f"/status/{token}"
    req = reload(session, req)
    assert req.status == RequestStatus.pending_review


def test_exhausted_code_stops_working_even_when_then_correct(
    client: TestClient, session: Session, make_web_request: WebRequestFactory, settings: Settings
) -> None:
    req, token = make_web_request()
    form = csrf_token(client.get(f"/status/{token}/verify").text)
    code = latest_code(session, req.id)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.otp_max_attempts):
        client.post(f"/status/{token}/verify", data={"csrf_token": form, "code": wrong})
    response = client.post(f"/status/{token}/verify", data={"csrf_token": form, "code": code})
    assert response.status_code == 422
    assert "no longer works" in response.text
    req = reload(session, req)
    assert req.status == RequestStatus.identity_unverified


def test_expired_code_is_refused_with_a_clear_message(
    client: TestClient, session: Session, make_web_request: WebRequestFactory
) -> None:
    req, token = make_web_request()
    form = csrf_token(client.get(f"/status/{token}/verify").text)
    session.execute(
        update(OneTimeCode).where(OneTimeCode.request_id == req.id).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    response = client.post(f"/status/{token}/verify", data={"csrf_token": form, "code": latest_code(session, req.id)})
    assert response.status_code == 422
    assert "This code has expired. Ask for a new code." in response.text
    assert reload(session, req).status == RequestStatus.identity_unverified


def test_malformed_code_gets_a_clear_message(client: TestClient, session: Session, make_web_request: WebRequestFactory) -> None:
    req, token = make_web_request()
    form = csrf_token(client.get(f"/status/{token}/verify").text)
    response = client.post(f"/status/{token}/verify", data={"csrf_token": form, "code": "12ab"})
    assert response.status_code == 422
    assert "6 digits" in response.text
    req = reload(session, req)
    assert req.code is not None and req.code.attempts == 0


def test_verify_without_csrf_is_refused_and_nothing_changes(
    client: TestClient, session: Session, make_web_request: WebRequestFactory
) -> None:
    req, token = make_web_request()
    client.get(f"/status/{token}/verify")
    before = counts(session)
    response = client.post(f"/status/{token}/verify", data={"code": latest_code(session, req.id)})
    assert response.status_code == 403
    req = reload(session, req)
    assert req.status == RequestStatus.identity_unverified
    assert counts(session) == before


def test_resend_sends_a_new_code_up_to_the_limit(
    client: TestClient, session: Session, make_web_request: WebRequestFactory, settings: Settings
) -> None:
    req, token = make_web_request()
    form = csrf_token(client.get(f"/status/{token}/verify").text)
    for _ in range(settings.otp_max_resends):
        outbox_before = counts(session)[1]
        response = client.post(f"/status/{token}/resend", data={"csrf_token": form})
        assert response.status_code == 303
        assert counts(session)[1] == outbox_before + 1
        assert "We have emailed you a new code." in " ".join(flashes(client.get(f"/status/{token}/verify").text))

    before = counts(session)
    response = client.post(f"/status/{token}/resend", data={"csrf_token": form})
    assert response.status_code == 303
    page = client.get(f"/status/{token}/verify")
    assert "maximum number of times" in " ".join(flashes(page.text))
    assert "disabled" in page.text
    assert counts(session) == before


def test_unverified_status_link_leads_to_code_entry(client: TestClient, make_web_request: WebRequestFactory) -> None:
    _, token = make_web_request()
    response = client.get(f"/status/{token}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/status/{token}/verify"


def test_unknown_status_link_is_an_html_404(client: TestClient) -> None:
    response = client.get("/status/not-a-real-token")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "not_found" in response.text
    assert "This status link is not valid." in response.text


def test_status_page_shows_status_reference_dates_and_next_steps(
    client: TestClient, session: Session, make_web_request: WebRequestFactory
) -> None:
    req, token = make_web_request()
    request_service.verify_code(session=session, request_id=req.id, code=latest_code(session, req.id))
    session.commit()
    response = client.get(f"/status/{token}")
    assert response.status_code == 200
    text = response.text
    assert "Waiting for review" in text
    assert req.reference in text
    assert f"{req.due_at.day} {req.due_at:%B %Y}" in text  # the statutory due date, written out
    assert date_long(req.received_at) in text
    assert "What happens next" in text
    assert 'content="no-referrer"' in text


def test_status_page_shows_denial_ground_and_reason(
    client: TestClient, session: Session, make_web_request: WebRequestFactory
) -> None:
    req, token = make_web_request()
    request_service.verify_code(session=session, request_id=req.id, code=latest_code(session, req.id))
    request_service.deny(
        session=session, request_id=req.id, actor="system", ground=DenialGround.legal_claims,
        reason="We must keep this record while the court case is open.",
    )
    session.commit()
    text = client.get(f"/status/{token}").text
    assert "Refused" in text
    assert DenialGround.legal_claims.label in text
    assert "We must keep this record while the court case is open." in text
    assert "supervisory authority" in text


def test_status_page_shows_the_extended_due_date_and_reason(
    client: TestClient, session: Session, make_web_request: WebRequestFactory
) -> None:
    req, token = make_web_request()
    request_service.verify_code(session=session, request_id=req.id, code=latest_code(session, req.id))
    request_service.extend(
        session=session, request_id=req.id, actor="system", months=2, reason="Many requests this month."
    )
    session.commit()
    text = client.get(f"/status/{token}").text
    assert "Extended due date" in text
    assert date_long(req.due_at) in text
    assert date_long(req.original_due_at) in text
    assert "Many requests this month." in text
