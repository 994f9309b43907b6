"""The officer's request page and its actions: approve, deny, extend, cancel, with CSRF and domain errors."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from page_helpers import counts, csrf_token, flashes, reload
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.notifications.models import OutboxMessage
from app.officers.models import Officer
from app.pages.templating import date_long
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus

RequestFactory = Callable[..., ErasureRequest]


def _post(client: TestClient, req: ErasureRequest, action: str, **fields: str) -> list[str]:
    """Post an action form with the page's CSRF token; return the flash messages shown after the redirect."""
    token = csrf_token(client.get(f"/officer/requests/{req.id}").text)
    response = client.post(f"/officer/requests/{req.id}/{action}", data={"csrf_token": token, **fields})
    assert response.status_code == 303
    assert response.headers["location"] == f"/officer/requests/{req.id}"
    return flashes(client.get(response.headers["location"]).text)


def _emails(session: Session, req: ErasureRequest) -> list[str]:
    return list(session.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == req.id)))


def test_detail_shows_identifiers_due_date_days_left_and_history(
    officer_client: TestClient, make_request: RequestFactory
) -> None:
    req = make_request(email="grace@example.org")
    response = officer_client.get(f"/officer/requests/{req.id}")
    assert response.status_code == 200
    text = response.text
    assert "Grace Hopper" in text and "grace@example.org" in text and "+44 20 7946 0000" in text
    assert "demo-assistant" in text
    assert date_long(req.due_at) in text
    assert "days left" in text
    assert "Request received" in text and "Identity verified: waiting for review" in text
    for control in ("approve-ground", "deny-ground", "deny-reason", "extend-months", "extend-reason", "cancel-reason"):
        assert f'for="{control}"' in text and f'id="{control}"' in text


def test_detail_links_a_duplicate_to_the_first_request(
    officer_client: TestClient, make_request: RequestFactory
) -> None:
    first = make_request(email="twice@example.org")
    second = make_request(email="twice@example.org")
    text = officer_client.get(f"/officer/requests/{second.id}").text
    assert f'href="/officer/requests/{first.id}"' in text and first.reference in text


def test_unknown_request_is_an_html_404(officer_client: TestClient) -> None:
    for request_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = officer_client.get(f"/officer/requests/{request_id}")
        assert response.status_code == 404
        assert "not_found" in response.text and "text/html" in response.headers["content-type"]


def test_approve_records_ground_audits_the_officer_and_emails_the_subject(
    officer_client: TestClient, session: Session, make_request: RequestFactory, officer: Officer
) -> None:
    req = make_request()
    shown = _post(officer_client, req, "approve", ground=ErasureGround.consent_withdrawn.value)
    assert shown == ["Request approved. The subject has been emailed."]
    stored = reload(session, req)
    assert stored.status == RequestStatus.approved
    assert stored.decision_ground == ErasureGround.consent_withdrawn.value
    assert stored.decided_by == f"officer:{officer.id}"
    page = officer_client.get(f"/officer/requests/{req.id}").text
    assert f"by {officer.display_name} ({officer.email})" in page and "by Officer " not in page
    assert "approved" in _emails(session, req)
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.request_id == req.id, AuditEntry.event == "erasure.approved")
    ).one()
    assert entry.actor == f"officer:{officer.id}"
    page = officer_client.get(f"/officer/requests/{req.id}").text
    assert ErasureGround.consent_withdrawn.label in page and "Officer Olga Officer" in page


def test_deny_needs_a_ground_and_a_reason_and_changes_nothing_without(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    req = make_request()
    before = counts(session)
    shown = _post(officer_client, req, "deny", ground=DenialGround.excessive.value, reason="  ")
    assert shown == ["Nothing was changed: A reason is required."]
    shown = _post(officer_client, req, "deny", ground="because", reason="No.")
    assert len(shown) == 1 and shown[0].startswith("Nothing was changed: Unknown ground")
    assert reload(session, req).status == RequestStatus.pending_review
    assert counts(session) == before

    shown = _post(officer_client, req, "deny", ground=DenialGround.excessive.value, reason="Fifth identical request.")
    assert shown == ["Request denied. The subject has been emailed the reason."]
    stored = reload(session, req)
    assert stored.status == RequestStatus.denied and stored.decision_reason == "Fifth identical request."
    assert "denied" in _emails(session, req)


def test_illegal_transition_is_shown_and_changes_nothing(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    req = make_request()
    _post(officer_client, req, "deny", ground=DenialGround.legal_claims.value, reason="Court case.")
    before = counts(session)
    shown = _post(officer_client, req, "approve", ground=ErasureGround.objection.value)
    assert shown == ["Nothing was changed: A request that is denied cannot become approved."]
    assert reload(session, req).status == RequestStatus.denied
    assert counts(session) == before
    page = officer_client.get(f"/officer/requests/{req.id}").text
    assert 'action="/officer/requests/' + req.id + '/approve"' not in page  # no longer offered


def test_extend_once_with_a_reason(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    req = make_request()
    original_due = req.due_at
    assert _post(officer_client, req, "extend", months="3", reason="Too long.")[0].startswith("Nothing was changed")
    assert _post(officer_client, req, "extend", months="1", reason="")[0].startswith("Nothing was changed")
    assert reload(session, req).extended is False

    shown = _post(officer_client, req, "extend", months="2", reason="Complex request.")
    assert shown == ["Deadline extended. The subject has been emailed the new due date and the reason."]
    stored = reload(session, req)
    assert stored.extended and stored.extension_months == 2 and stored.due_at > original_due
    assert "extended" in _emails(session, req)
    page = officer_client.get(f"/officer/requests/{req.id}").text
    assert date_long(stored.due_at) in page and date_long(original_due) in page
    assert "/extend" not in page  # offered once only

    before = counts(session)
    shown = _post(officer_client, req, "extend", months="1", reason="Again.")
    assert shown == ["Nothing was changed: The deadline was already extended once."]
    assert counts(session) == before


def test_cancel_with_a_reason(officer_client: TestClient, session: Session, make_request: RequestFactory) -> None:
    req = make_request()
    assert _post(officer_client, req, "cancel", reason="Subject withdrew the request by phone.") == [
        "Request canceled."
    ]
    stored = reload(session, req)
    assert stored.status == RequestStatus.canceled
    assert stored.cancel_reason == "Subject withdrew the request by phone."


def test_actions_without_csrf_are_refused_and_change_nothing(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    req = make_request()
    before = counts(session)
    for action, fields in (
        ("approve", {"ground": ErasureGround.objection.value}),
        ("deny", {"ground": DenialGround.excessive.value, "reason": "x"}),
        ("extend", {"months": "1", "reason": "x"}),
        ("cancel", {}),
    ):
        response = officer_client.post(f"/officer/requests/{req.id}/{action}", data=fields)
        assert response.status_code == 403
        assert "csrf_failed" in response.text
    assert reload(session, req).status == RequestStatus.pending_review
    assert counts(session) == before
