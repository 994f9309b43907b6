"""A data subject files a request in the browser, confirms the emailed code and reads the status page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from e2e_helpers import LiveServer, code_from_outbox, officer_sign_in, screenshot, unique_email
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.pages.templating import date_long
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_subject_files_a_request_verifies_the_code_and_sees_the_due_date(
    live_server: LiveServer, new_page: Callable[[], Page]
) -> None:
    subject = new_page()
    subject.goto(live_server.url + "/")
    expect(subject.get_by_role("heading", name="Ask us to erase your personal data")).to_be_visible()
    screenshot(subject, "01-request-form")

    # The server-side validation first: an invalid email comes back with a message and the typed name kept.
    subject.get_by_label("Full name").fill("Ada Lovelace")
    subject.get_by_label("Email address").fill("ada-at-example.org")
    subject.get_by_role("button", name="Send my request").click()
    expect(subject.get_by_text("Enter a valid email address, like name@example.com.").first).to_be_visible()
    expect(subject.get_by_label("Full name")).to_have_value("Ada Lovelace")
    screenshot(subject, "02-request-form-errors")

    email = unique_email("ada")
    subject.get_by_label("Email address").fill(email)
    subject.get_by_label("Phone number").fill("+44 20 7946 0001")
    subject.get_by_label("What should be forgotten").fill("My home address appears in the assistant's answers.")
    subject.get_by_label("Model or service concerned").fill("demo-assistant")
    subject.get_by_role("button", name="Send my request").click()
    expect(subject).to_have_url(re.compile(r"/status/[A-Za-z0-9_-]{32,}/verify$"))
    expect(subject.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    screenshot(subject, "03-code-entry")
    status_url = subject.url.removesuffix("/verify")

    with live_server.db() as db:
        req = db.scalars(select(ErasureRequest).order_by(ErasureRequest.created_at.desc())).first()
        assert req is not None and req.status == RequestStatus.identity_unverified
        reference, due_at = req.reference, req.due_at
    expect(subject.get_by_text(reference)).to_be_visible()

    developer = new_page()
    officer_sign_in(developer, live_server)
    code = code_from_outbox(developer, live_server, reference)
    screenshot(developer, "04-outbox")

    wrong = "000000" if code != "000000" else "111111"
    subject.get_by_label("6-digit code").fill(wrong)
    subject.get_by_role("button", name="Confirm").click()
    expect(subject.get_by_role("alert")).to_contain_text("The code is not correct.")

    subject.get_by_label("6-digit code").fill(code)
    subject.get_by_role("button", name="Confirm").click()
    expect(subject).to_have_url(status_url)
    expect(subject.get_by_role("heading", name="Your erasure request")).to_be_visible()
    expect(subject.get_by_text("Waiting for review").first).to_be_visible()
    expect(subject.get_by_text(date_long(due_at), exact=True)).to_be_visible()
    expect(subject.get_by_role("heading", name="What happens next")).to_be_visible()
    screenshot(subject, "05-status-pending")

    with live_server.db() as db:
        stored = db.get(ErasureRequest, req.id)
        assert stored is not None and stored.status == RequestStatus.pending_review
