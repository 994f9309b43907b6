"""An officer signs in, reads the queue, approves one request and denies another; the subjects see the decisions."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from e2e_helpers import LiveServer, officer_sign_in, screenshot, unique_email
from playwright.sync_api import Page, expect

from app.pages.templating import date_long, date_short
from app.requests import service as request_service
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _file_verified_request(server: LiveServer, name: str) -> tuple[ErasureRequest, str]:
    """A request filed on behalf of a verified subject (as the API does), with its status link token."""
    with server.db() as db:
        created = request_service.create_request(
            session=db,
            data=RequestCreate(full_name=name, email=unique_email("subject"), target_model="demo-assistant"),
            channel="api", verified=True, actor="apikey:e2e", settings=server.app.state.settings,
        )
        db.commit()
        return created.request, created.status_token


def _status(server: LiveServer, request_id: str) -> RequestStatus:
    with server.db() as db:
        stored = db.get(ErasureRequest, request_id)
        assert stored is not None
        return stored.status


def test_officer_approves_one_request_and_denies_another(
    live_server: LiveServer, new_page: Callable[[], Page]
) -> None:
    to_approve, approve_token = _file_verified_request(live_server, "Grace Hopper")
    to_deny, deny_token = _file_verified_request(live_server, "Alan Turing")

    officer = new_page()
    officer_sign_in(officer, live_server)
    for req in (to_approve, to_deny):
        row = officer.locator(f'tr[data-reference="{req.reference}"]')
        expect(row).to_contain_text(date_short(req.due_at))
        expect(row).to_contain_text(re.compile(r"\d+ days left"))
        expect(row).to_contain_text("Waiting for review")
    screenshot(officer, "06-queue")

    # Approve the first, choosing the Art. 17(1) ground.
    officer.get_by_role("link", name=to_approve.reference).click()
    expect(officer.get_by_role("heading", name=f"Request {to_approve.reference}")).to_be_visible()
    expect(officer.get_by_text(date_long(to_approve.due_at), exact=True)).to_be_visible()
    expect(officer.get_by_text(re.compile(r"\d+ days left"))).to_be_visible()
    expect(officer.get_by_text("Grace Hopper", exact=True)).to_be_visible()
    screenshot(officer, "07-detail")
    officer.get_by_label("Ground for erasure (Art. 17(1))").select_option(ErasureGround.consent_withdrawn.value)
    officer.get_by_role("button", name="Approve").click()
    expect(officer.get_by_role("status")).to_contain_text("Request approved.")
    expect(officer.get_by_text(ErasureGround.consent_withdrawn.label, exact=True)).to_be_visible()
    expect(officer.locator("ol.timeline")).to_contain_text("Request approved")
    screenshot(officer, "08-detail-approved")
    assert _status(live_server, to_approve.id) == RequestStatus.approved

    # Deny the second: a reason is required, so an empty one is refused by the server and nothing changes.
    officer.get_by_role("link", name="Request queue", exact=True).click()
    officer.get_by_role("link", name=to_deny.reference).click()
    officer.get_by_label("Legal basis for refusing").select_option(DenialGround.legal_claims.value)
    officer.get_by_label("Reason").first.evaluate("el => el.removeAttribute('required')")
    officer.get_by_role("button", name="Deny").click()
    expect(officer.get_by_role("alert")).to_contain_text("A reason is required.")
    assert _status(live_server, to_deny.id) == RequestStatus.pending_review

    reason = "We must keep these records while the court case about your account is open."
    officer.get_by_label("Legal basis for refusing").select_option(DenialGround.legal_claims.value)
    officer.locator("#deny-reason").fill(reason)
    officer.get_by_role("button", name="Deny").click()
    expect(officer.get_by_role("status")).to_contain_text("Request denied.")
    assert _status(live_server, to_deny.id) == RequestStatus.denied

    officer.get_by_role("link", name="Request queue", exact=True).click()
    expect(officer.locator(f'tr[data-reference="{to_approve.reference}"]')).to_contain_text("Approved")
    expect(officer.locator(f'tr[data-reference="{to_deny.reference}"]')).to_contain_text("Denied")

    # Each subject's status page shows the decision and the due date.
    subject = new_page()
    subject.goto(f"{live_server.url}/status/{approve_token}")
    expect(subject.get_by_text(re.compile(r"^Approved on \d+ \w+ \d{4}$"))).to_be_visible()
    expect(subject.get_by_text(ErasureGround.consent_withdrawn.label, exact=True)).to_be_visible()
    expect(subject.get_by_text(date_long(to_approve.due_at), exact=True)).to_be_visible()
    screenshot(subject, "09-status-approved")

    subject.goto(f"{live_server.url}/status/{deny_token}")
    expect(subject.get_by_text(re.compile(r"^Refused on \d+ \w+ \d{4}$"))).to_be_visible()
    expect(subject.get_by_text(DenialGround.legal_claims.label, exact=True)).to_be_visible()
    expect(subject.get_by_text(reason, exact=True)).to_be_visible()
    expect(subject.get_by_text(date_long(to_deny.due_at), exact=True)).to_be_visible()
    screenshot(subject, "10-status-denied")

    subject.goto(f"{live_server.url}/status/not-a-status-token")
    expect(subject.get_by_role("heading", name="Page not found")).to_be_visible()
    screenshot(subject, "11-error-404")
