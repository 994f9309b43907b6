"""Approve, deny, extend and cancel: allowed moves, refusals (409) that change nothing, emails and audit."""

from datetime import timedelta

import pytest

from app.core.errors import Conflict, IllegalTransition, InvalidInput
from app.notifications import service as notification_service
from app.requests import service
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.review import can_extend
from app.requests.statuses import RequestStatus
from tests_requests_helpers import T0

OFFICER = "officer:11111111-1111-1111-1111-111111111111"


def _kinds(session, request_id):
    return [m.kind for m in notification_service.list_outbox(session=session, request_id=request_id)]


def _events(session, request_id):
    return [e.event for e in service.history(session=session, request_id=request_id)]


def test_approve(session, make_request) -> None:
    request = make_request()
    service.approve(session=session, request_id=request.id, actor=OFFICER, ground=ErasureGround.consent_withdrawn,
                    note="Customer left in 2023", now=T0 + timedelta(days=2))
    assert request.status == RequestStatus.approved
    assert request.decision_ground == "consent_withdrawn" and request.decided_by == OFFICER
    assert request.decided_at == T0 + timedelta(days=2)
    assert "approved" in _kinds(session, request.id)
    last = service.history(session=session, request_id=request.id)[-1]
    assert last.event == "erasure.approved" and last.actor == OFFICER
    assert last.details["ground"] == "consent_withdrawn" and "Customer" not in str(last.details)
    assert len(last.details["note_sha256"]) == 64


def test_deny_requires_a_reason_and_emails_it(session, make_request) -> None:
    request = make_request()
    with pytest.raises(InvalidInput):
        service.deny(session=session, request_id=request.id, actor=OFFICER, ground=DenialGround.legal_claims, reason="  ")
    assert request.status == RequestStatus.pending_review
    service.deny(session=session, request_id=request.id, actor=OFFICER, ground=DenialGround.legal_claims,
                 reason="The data is needed to defend pending litigation.")
    assert request.status == RequestStatus.denied and request.decision_reason.startswith("The data")
    # Stored encrypted, like the subject's identifiers: the officer's words may quote the subject.
    session.flush()
    from sqlalchemy import text

    raw = session.execute(text("SELECT decision_reason_enc FROM erasure_requests WHERE id = :i"),
                          {"i": request.id}).scalar()
    assert raw and b"litigation" not in bytes(raw)
    email = notification_service.list_outbox(session=session, request_id=request.id)[0]
    assert email.kind == "denied" and "pending litigation" in email.body and "supervisory authority" in email.body
    assert DenialGround.legal_claims.label in email.body


def test_unknown_ground_is_refused(session, make_request) -> None:
    request = make_request()
    with pytest.raises(InvalidInput):
        service.approve(session=session, request_id=request.id, actor=OFFICER, ground="because")
    assert request.status == RequestStatus.pending_review


@pytest.mark.parametrize("action", ["approve", "deny", "cancel"])
def test_decisions_on_a_decided_request_are_refused_and_change_nothing(session, make_request, action) -> None:
    request = make_request()
    service.deny(session=session, request_id=request.id, actor=OFFICER, ground=DenialGround.excessive, reason="Fifth copy")
    before = (_events(session, request.id), _kinds(session, request.id), request.decision_ground)
    kwargs = {
        "approve": {"ground": ErasureGround.objection},
        "deny": {"ground": DenialGround.public_health, "reason": "x"},
        "cancel": {},
    }[action]
    with pytest.raises(IllegalTransition) as info:
        getattr(service, action)(session=session, request_id=request.id, actor=OFFICER, **kwargs)
    assert info.value.status_code == 409
    assert request.status == RequestStatus.denied
    assert (_events(session, request.id), _kinds(session, request.id), request.decision_ground) == before


def test_unverified_request_cannot_be_approved(session, make_request) -> None:
    request = make_request(verified=False)
    with pytest.raises(IllegalTransition):
        service.approve(session=session, request_id=request.id, actor=OFFICER, ground=ErasureGround.objection)


def test_cancel_pending_and_unverified(session, make_request) -> None:
    verified = make_request()
    service.cancel(session=session, request_id=verified.id, actor=OFFICER, reason="Withdrawn by phone")
    assert verified.status == RequestStatus.canceled and verified.cancel_reason == "Withdrawn by phone"
    assert "canceled" in _kinds(session, verified.id)
    unverified = make_request(verified=False)
    service.cancel(session=session, request_id=unverified.id, actor="system")
    assert unverified.status == RequestStatus.canceled
    # An address that was never verified is not written to again.
    assert _kinds(session, unverified.id) == ["verification_code"]


def test_extend_once_by_up_to_two_months_before_the_original_due_date(session, make_request) -> None:
    request = make_request()  # received 31 Jan 2025 -> due 28 Feb 2025
    assert can_extend(request, T0 + timedelta(days=1))
    service.extend(session=session, request_id=request.id, actor=OFFICER, months=2,
                   reason="Three models must be retrained", now=T0 + timedelta(days=10))
    assert request.extended and request.extension_months == 2
    assert request.due_at == T0.replace(month=4, day=28)  # two months from the original due date
    assert request.original_due_at == T0.replace(month=2, day=28)
    assert "extended" in _kinds(session, request.id) and "erasure.extended" in _events(session, request.id)
    with pytest.raises(Conflict) as info:
        service.extend(session=session, request_id=request.id, actor=OFFICER, months=1, reason="again",
                       now=T0 + timedelta(days=11))
    assert info.value.code == "already_extended" and request.due_at == T0.replace(month=4, day=28)
    assert not can_extend(request, T0 + timedelta(days=11))


@pytest.mark.parametrize("months", [0, 3, -1])
def test_extension_length_is_limited(session, make_request, months) -> None:
    request = make_request()
    with pytest.raises(InvalidInput):
        service.extend(session=session, request_id=request.id, actor=OFFICER, months=months, reason="r", now=T0)
    assert not request.extended and request.due_at == request.original_due_at


def test_extension_after_the_original_due_date_is_refused(session, make_request) -> None:
    request = make_request()
    with pytest.raises(Conflict) as info:
        service.extend(session=session, request_id=request.id, actor=OFFICER, months=1, reason="late",
                       now=request.original_due_at + timedelta(seconds=1))
    assert info.value.code == "extension_too_late" and not request.extended


def test_extension_needs_a_reason_and_an_open_request(session, make_request) -> None:
    request = make_request()
    with pytest.raises(InvalidInput):
        service.extend(session=session, request_id=request.id, actor=OFFICER, months=1, reason="", now=T0)
    service.deny(session=session, request_id=request.id, actor=OFFICER, ground=DenialGround.excessive, reason="r")
    with pytest.raises(IllegalTransition):
        service.extend(session=session, request_id=request.id, actor=OFFICER, months=1, reason="r", now=T0)


def test_processing_path_through_transition(session, make_request) -> None:
    request = make_request()
    service.approve(session=session, request_id=request.id, actor=OFFICER, ground=ErasureGround.objection)
    # discovery returns the request to approved (findings ready); a failed verification sends it to failed,
    # from which the officer retries.
    for status in (RequestStatus.discovering, RequestStatus.approved, RequestStatus.unlearning,
                   RequestStatus.verifying, RequestStatus.failed, RequestStatus.unlearning,
                   RequestStatus.verifying, RequestStatus.completed):
        service.transition(session=session, request=request, new_status=status, actor="system", job="j1")
    assert request.status == RequestStatus.completed
    with pytest.raises(IllegalTransition):
        service.transition(session=session, request=request, new_status=RequestStatus.failed, actor="system")
    events = _events(session, request.id)
    assert events[-1] == "erasure.completed" and events.count("erasure.unlearning") == 2
