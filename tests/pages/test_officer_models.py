"""The model registry pages: list, register (errors kept on the form), versions, restore with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from page_helpers import counts, csrf_token, evidence, fake_model_dir, finding, flashes, probe_report
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.jobs import service as jobs_service
from app.officers.models import Officer
from app.requests import review
from app.requests.models import ErasureRequest
from app.targets import service as target_service
from app.targets.models import TargetModel

RequestFactory = Callable[..., ErasureRequest]


def _register(client: TestClient, **fields: str):
    token = csrf_token(client.get("/officer/models").text)
    return client.post("/officer/models", data={"csrf_token": token, **fields})


def test_register_a_model_and_see_it_listed(
    officer_client: TestClient, session: Session, tmp_path: Path, officer: Officer
) -> None:
    model_dir = fake_model_dir(tmp_path / "assistant")
    response = _register(officer_client, name="Support-Assistant", path=str(model_dir), description="Helpdesk bot")
    assert response.status_code == 303
    model = session.scalars(select(TargetModel)).one()
    assert response.headers["location"] == f"/officer/models/{model.id}"
    assert model.name == "support-assistant" and model.current.path == str(model_dir.resolve())
    page = officer_client.get(response.headers["location"]).text
    assert flashes(page) == ["Model support-assistant registered as version 1."]
    assert model.current.weights_sha256 in page and "in use" in page and "registered by an officer" in page

    listing = officer_client.get("/officer/models").text
    row = listing[listing.index('data-model="support-assistant"'):listing.index("</tr>", listing.index('data-model'))]
    assert "version 1" in row and model.current.weights_sha256[:12] in row and str(model_dir.resolve()) in row
    assert "Helpdesk bot" in row and "<td>1</td>" in row
    entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "model.registered")).one()
    assert entry.actor == f"officer:{officer.id}"
    assert '<a href="/officer/models">Models</a>' in listing  # in the officer navigation


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": "assistant", "path": "/nonexistent/model"}, "path", "model directory not found"),
    ({"name": "Bad Name!", "path": "/nonexistent/model"}, "name", "A model name is 1-80 lower-case letters"),
])
def test_a_refused_registration_shows_the_error_and_keeps_what_was_typed(
    officer_client: TestClient, session: Session, fields: dict[str, str], field: str, message: str
) -> None:
    before = counts(session)
    response = _register(officer_client, description="kept text", **fields)
    assert response.status_code == 422
    text = response.text
    assert f'id="field-{field}-error">{message}' in text and 'aria-invalid="true"' in text
    assert f'value="{fields["path"]}"' in text and ">kept text</textarea>" in text
    assert session.scalars(select(TargetModel)).first() is None and counts(session) == before


def test_a_duplicate_name_is_refused_on_the_name_field(
    officer_client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = str(fake_model_dir(tmp_path / "m"))
    assert _register(officer_client, name="assistant", path=path).status_code == 303
    response = _register(officer_client, name="assistant", path=path)
    assert response.status_code == 409 and 'id="field-name-error">A model named' in response.text
    assert len(session.scalars(select(TargetModel)).all()) == 1


def test_registration_needs_csrf_and_a_signed_in_officer(
    client: TestClient, officer_client: TestClient, session: Session, tmp_path: Path
) -> None:
    path = str(fake_model_dir(tmp_path / "m"))
    response = officer_client.post("/officer/models", data={"name": "assistant", "path": path})
    assert response.status_code == 403 and session.scalars(select(TargetModel)).first() is None
    officer_client.cookies.clear()
    assert officer_client.get("/officer/models").status_code == 303


def _version_2(session: Session, req: ErasureRequest, model: TargetModel, tmp_path: Path) -> None:
    """A verified unlearning for ``req``: version 2 serves it."""
    review.approve(session=session, request_id=req.id, actor="officer:setup", ground="consent_withdrawn")
    job = jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    report = probe_report(model.current.weights_sha256, [finding("email", "direct", "confirmed", prompt="p",
                                                                 completion="c")], submitted=["email"])
    jobs_service.complete_discovery(session=session, job_id=job.id, reports={req.id: report})
    job = jobs_service.start_unlearning(session=session, request_ids=[req.id], actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    v2 = fake_model_dir(tmp_path / "v2", b"weights-v2")
    jobs_service.complete_unlearning(
        session=session, job_id=job.id, passed=True, reasons=[], output_dir=str(tmp_path), model_dir=str(v2),
        evidence=evidence(base_sha256=model.current.weights_sha256, result_sha256="be" * 32),
        evidence_sha256="e5" * 32, weights_sha256="be" * 32)
    session.commit()


def test_versions_show_what_each_serves_and_restore_needs_a_reason(
    officer_client: TestClient, session: Session, make_request: RequestFactory, tmp_path: Path, officer: Officer
) -> None:
    model = target_service.add_model(session=session, name="demo-assistant", path=fake_model_dir(tmp_path / "v1"),
                                     actor="officer:setup")
    session.commit()
    req = make_request()
    _version_2(session, req, model, tmp_path)
    url = f"/officer/models/{model.id}"
    page = officer_client.get(url).text
    v2 = page[page.index('data-version="2"'):page.index("</tr>", page.index('data-version="2"'))]
    assert "in use" in v2 and "unlearning" in v2 and "version 1" in v2 and "be" * 32 in v2
    assert f'<a href="/officer/requests/{req.id}">{req.reference}</a>' in v2
    v1 = page[page.index('data-version="1"'):page.index("</tr>", page.index('data-version="1"'))]
    assert "in use" not in v1 and "none" in v1
    warning = page[page.index("Restore the previous version"):]
    assert "this undoes erasures" in warning and req.reference in warning and 'name="reason" required' in warning

    token = csrf_token(page)
    before = counts(session)
    response = officer_client.post(f"{url}/restore", data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 303 and response.headers["location"] == url
    assert flashes(officer_client.get(url).text) == [
        "Nothing was changed: A reason is required to restore a previous version."]
    session.expire_all()
    assert session.get(TargetModel, model.id).current_number == 2 and counts(session) == before

    response = officer_client.post(f"{url}/restore", data={"csrf_token": token, "reason": "v2 answers badly"})
    page = officer_client.get(url).text
    assert flashes(page)[0].startswith("Version 1 of demo-assistant is the current version again.")
    session.expire_all()
    assert session.get(TargetModel, model.id).current_number == 1
    reverted = session.scalars(select(AuditEntry).where(AuditEntry.event == "model.erasure_reverted")).one()
    assert reverted.request_id == req.id and reverted.actor == f"officer:{officer.id}"
    assert "v2 answers badly" not in str(reverted.details)  # only its hash
    assert "Restore the previous version" not in page  # version 1 has no parent
    history = officer_client.get(f"/officer/requests/{req.id}").text
    assert "Erasure reverted: an earlier model version was restored" in history


def test_restore_names_and_reopens_the_requests_it_undoes(
    officer_client: TestClient, session: Session, make_request: RequestFactory, tmp_path: Path, officer: Officer
) -> None:
    model = target_service.add_model(session=session, name="demo-assistant", path=fake_model_dir(tmp_path / "v1"),
                                     actor="officer:setup")
    session.commit()
    req = make_request(now=utcnow() - timedelta(days=40))  # its month has passed while it was completed
    _version_2(session, req, model, tmp_path)
    url = f"/officer/models/{model.id}"
    page = officer_client.get(url).text
    reopen = page[page.index("<p data-reopen>"):page.index("</p>", page.index("<p data-reopen>"))]
    assert f'This request will be reopened:\n      <a href="/officer/requests/{req.id}">{req.reference}</a>' in reopen
    assert "back to <em>Approved</em> with the same due date" in reopen
    assert "Grace Hopper" not in page and "@example.org" not in page

    officer_client.post(f"{url}/restore", data={"csrf_token": csrf_token(page), "reason": "v2 answers badly"})
    (flash,) = flashes(officer_client.get(url).text)
    assert flash.endswith(f"Reopened (approved again, same due date): {req.reference}. Run discovery and unlearning "
                          "for each of them again.")
    session.expire_all()
    assert session.get(ErasureRequest, req.id).status == "approved"
    detail = officer_client.get(f"/officer/requests/{req.id}").text
    assert "Reopened: the restored model version can reveal the data again" in detail
    assert "model version restored" in detail and "days overdue" in detail
    # The officer can carry the erasure out again: discovery is offered on version 1, the one now in use.
    assert f'action="/officer/requests/{req.id}/discover"' in detail and "demo-assistant (version 1)" in detail


def test_unknown_model_is_a_404_page(officer_client: TestClient) -> None:
    response = officer_client.get("/officer/models/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
