"""Code entry, resend and the subject's status page (due date, decision, what happens next)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pathlib import Path

from fastapi.testclient import TestClient
from page_helpers import (counts, csrf_token, evidence, fake_model_dir, finding, flashes, latest_code, probe_report,
                          reload)
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.jobs import service as jobs_service
from app.pages.templating import date_long
from app.requests import review
from app.requests import service as request_service
from app.requests.grounds import DenialGround
from app.requests.models import ErasureRequest, OneTimeCode
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from app.targets import service as target_service
from app.targets.models import TargetModel

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



def _complete_discovery(session: Session, job_id: str, req: ErasureRequest, model: TargetModel) -> None:
    jobs_service.claim(session=session, job_id=job_id, worker="celery@test")
    report = probe_report(model.current.weights_sha256, [finding("email", "direct", "confirmed", prompt="p",
                                                                 completion="c")], submitted=["email"])
    jobs_service.complete_discovery(session=session, job_id=job_id, reports={req.id: report})
    session.commit()


def _unlearn(session: Session, requests: list[ErasureRequest], model: TargetModel, model_dir: Path) -> None:
    """A verified unlearning: a new version of ``model``, made from the current one, serves ``requests``."""
    job = jobs_service.start_unlearning(session=session, request_ids=[r.id for r in requests], actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    weights = model_dir.name.encode()
    jobs_service.complete_unlearning(
        session=session, job_id=job.id, passed=True, reasons=[], output_dir=str(model_dir.parent),
        model_dir=str(fake_model_dir(model_dir, weights)),
        evidence=evidence(base_sha256=model.current.weights_sha256, result_sha256=weights.hex()),
        evidence_sha256="e5" * 32, weights_sha256=weights.hex())
    session.commit()


def test_a_request_reopened_by_a_model_restore_tells_the_subject_why(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    model = target_service.add_model(session=session, name="demo-assistant", path=fake_model_dir(tmp_path / "v1"),
                                     actor="officer:setup")
    filed = [request_service.create_request(session=session, data=RequestCreate(full_name=name, email=email),
                                            channel="api", verified=True, actor="apikey:test")
             for name, email in (("Grace Hopper", "grace@example.org"), ("Alan Turing", "alan@example.org"))]
    session.commit()
    (req, token), other = (filed[0].request, filed[0].status_token), filed[1].request
    for r in (req, other):
        review.approve(session=session, request_id=r.id, actor="officer:setup", ground="consent_withdrawn")
        job = jobs_service.start_discovery(session=session, request_id=r.id, actor="officer:setup")
        _complete_discovery(session, job.id, r, model)
    _unlearn(session, [req, other], model, tmp_path / "v2")  # one version erases both: the restore reopens both
    page = client.get(f"/status/{token}").text
    assert "Your request is complete" in page and "reopened" not in page.lower()

    restored = target_service.restore_previous(session=session, model_id=model.id, actor="officer:setup",
                                               reason="v2 answers badly")
    session.commit()
    assert {r.id for r in restored.reopened} == {req.id, other.id}
    page = client.get(f"/status/{token}").text
    status = page[page.index("<h2>Status:"):page.index("What happens next")]
    assert '<span class="badge warn">Reopened</span>' in status
    assert ("<p>Your request has been reopened: the model version that had forgotten your data was "
            "withdrawn, so we are erasing your data again.</p>") in status
    assert f"<dt>Reopened</dt><dd>{date_long(utcnow())}</dd>" in status
    assert "The deadline shown above still applies." in page
    # Plain words only: no versions, no officer's reason, nothing about the other person reopened with it.
    for internal in ("v2 answers badly", "version 2", "demo-assistant", "officer:", other.reference, "Alan Turing",
                     "alan@example.org"):
        assert internal not in page

    # Carried out again: each step still says why, until the request is complete again.
    job = jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    session.commit()
    page = client.get(f"/status/{token}").text
    assert "<p>Your request has been reopened:" in page
    assert "we are checking what the model can produce about you" in page
    _complete_discovery(session, job.id, req, model)
    _unlearn(session, [req], model, tmp_path / "v3")
    assert reload(session, req).status == RequestStatus.completed
    page = client.get(f"/status/{token}").text
    assert "Your request is complete" in page and "reopened" not in page.lower()
