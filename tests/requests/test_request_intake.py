"""Filing a request, verifying the emailed code, duplicates and encryption at rest."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.audit.models import AuditEntry
from app.core.errors import Conflict, InvalidInput, NotFound, RateLimited
from app.core.security import blind_index
from app.core.tasks import pending_tasks
from app.notifications import service as notification_service
from app.requests import service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from tests_requests_helpers import T0, emailed_code

PERSONAL = {
    "full_name": "Grace Brewster Hopper",
    "email": "grace.hopper@example.org",
    "phone": "+1 202 555 0147",
    "postal_address": "1 Navy Yard, Arlington",
    "other_identifiers": "employee 4711",
    "details": "Grace Hopper's phone number is in the chatbot answers",
    "target_model": "support-bot-v2",
}


def _file(session, *, now=T0, **overrides):
    data = RequestCreate(**{**PERSONAL, **overrides})
    return service.create_request(session=session, data=data, channel="web", now=now)


def test_web_request_starts_unverified_and_emails_a_code(session) -> None:
    created = _file(session)
    request = created.request
    assert request.status == RequestStatus.identity_unverified
    assert re.fullmatch(r"RTBF-[0-9A-HJKMNP-TV-Z]{6}", request.reference)
    assert request.received_at == T0 and request.due_at == T0.replace(month=2, day=28)
    assert request.original_due_at == request.due_at and not request.extended
    code = emailed_code(session, request.id)
    assert re.fullmatch(r"\d{6}", code)
    assert request.code is not None and code not in request.code.code_hash
    # The plaintext status token is returned once and only its hash is stored.
    assert created.status_token not in request.status_token_hash
    assert service.get_by_status_token(session=session, token=created.status_token).id == request.id
    assert [t[0] for t in pending_tasks(session)] == [notification_service.SEND_EMAIL_TASK]


def test_identifiers_are_encrypted_at_rest_and_decrypt_for_the_officer(session) -> None:
    request = _file(session).request
    row = session.execute(text("SELECT * FROM erasure_requests WHERE id = :id"), {"id": request.id}).mappings().one()
    raw = json.dumps({k: (bytes(v).hex() if isinstance(v, bytes | memoryview) else str(v)) for k, v in row.items()})
    for value in PERSONAL.values():
        if value != PERSONAL["target_model"]:
            assert value not in raw and value.encode().hex() not in raw
    ids = service.identifiers(request)
    assert (ids.full_name, ids.email, ids.phone, ids.postal_address, ids.other_identifiers, ids.details) == (
        PERSONAL["full_name"], PERSONAL["email"], PERSONAL["phone"], PERSONAL["postal_address"],
        PERSONAL["other_identifiers"], PERSONAL["details"],
    )


def test_search_by_email_uses_the_blind_index(session) -> None:
    request = _file(session).request
    assert request.email_index == blind_index("Grace.Hopper@Example.org ", "email")
    assert [r.id for r in service.find_by_email(session=session, email=" GRACE.HOPPER@example.org")] == [request.id]
    assert service.find_by_email(session=session, email="someone.else@example.org") == []


def test_duplicates_within_the_window_are_flagged(session, settings) -> None:
    first = _file(session).request
    second = _file(session, now=T0 + timedelta(days=settings.duplicate_window_days - 1)).request
    later = _file(session, now=T0 + timedelta(days=settings.duplicate_window_days + 1)).request
    other = _file(session, email="someone.else@example.org", now=T0 + timedelta(days=1)).request
    assert first.duplicate_of_id is None
    assert second.duplicate_of_id == first.id and second.is_duplicate
    assert later.duplicate_of_id == second.id  # the first is outside the window by then
    assert other.duplicate_of_id is None


def test_verified_request_goes_straight_to_review(session) -> None:
    data = RequestCreate(full_name="Ada Lovelace", email="ada@example.org")
    created = service.create_request(session=session, data=data, channel="api", verified=True, actor="apikey:k1", now=T0)
    request = created.request
    assert request.status == RequestStatus.pending_review and request.verified_at == T0 and request.code is None
    events = [(e.event, e.actor, e.details.get("method")) for e in service.history(session=session, request_id=request.id)]
    assert events == [("erasure.received", "apikey:k1", None), ("erasure.pending_review", "apikey:k1", "api_key")]
    kinds = [m.kind for m in notification_service.list_outbox(session=session, request_id=request.id)]
    assert kinds == ["request_received"]


def test_correct_code_verifies(session) -> None:
    request = _file(session).request
    verified = service.verify_code(session=session, request_id=request.id, code=emailed_code(session, request.id),
                                   now=T0 + timedelta(minutes=9))
    assert verified.status == RequestStatus.pending_review
    assert verified.verified_at == T0 + timedelta(minutes=9) and verified.code.used
    # The clock of Art. 12(3) runs from receipt, not from verification.
    assert verified.due_at == T0.replace(month=2, day=28)
    with pytest.raises(Conflict):
        service.verify_code(session=session, request_id=request.id, code="000000")


def test_code_expires_after_the_ttl(session, settings) -> None:
    request = _file(session).request
    code = emailed_code(session, request.id)
    with pytest.raises(InvalidInput) as info:
        service.verify_code(session=session, request_id=request.id, code=code,
                            now=T0 + timedelta(seconds=settings.otp_ttl_seconds))
    assert info.value.code == "code_expired"
    assert session.get(ErasureRequest, request.id).status == RequestStatus.identity_unverified


def test_three_wrong_codes_invalidate_it(session, settings) -> None:
    assert settings.otp_max_attempts == 3
    request = _file(session).request
    code = emailed_code(session, request.id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    left = []
    for _ in range(3):
        with pytest.raises(InvalidInput) as info:
            service.verify_code(session=session, request_id=request.id, code=wrong, now=T0)
        assert info.value.code == "invalid_code" and info.value.keep_changes
        left.append(info.value.details["attempts_left"])
    assert left == [2, 1, 0]
    with pytest.raises(InvalidInput) as info:
        service.verify_code(session=session, request_id=request.id, code=code, now=T0)
    assert info.value.code == "code_invalidated"
    assert request.status == RequestStatus.identity_unverified and request.code.invalidated
    rejected = [e for e in service.history(session=session, request_id=request.id) if e.event == "erasure.code_rejected"]
    assert [(e.details["reason"], e.details["attempts"]) for e in rejected] == [
        ("invalid_code", 1), ("invalid_code", 2), ("invalid_code", 3), ("code_invalidated", 3),
    ]


def test_malformed_code_is_a_validation_error_and_not_counted(session) -> None:
    request = _file(session).request
    with pytest.raises(InvalidInput) as info:
        service.verify_code(session=session, request_id=request.id, code="12ab", now=T0)
    assert info.value.code == "validation_error" and not info.value.keep_changes
    assert request.code.attempts == 0


def test_resend_replaces_the_code_and_is_limited(session, settings) -> None:
    request = _file(session).request
    first = emailed_code(session, request.id)
    for n in range(1, settings.otp_max_resends + 1):
        service.resend_code(session=session, request_id=request.id, now=T0 + timedelta(minutes=n))
        assert request.code.resends == n
    with pytest.raises(RateLimited) as info:
        service.resend_code(session=session, request_id=request.id, now=T0 + timedelta(minutes=9))
    assert info.value.code == "resend_limit" and info.value.status_code == 429
    latest = emailed_code(session, request.id)
    if latest != first:  # 1 in 10^6 the new code equals the old one
        with pytest.raises(InvalidInput):
            service.verify_code(session=session, request_id=request.id, code=first, now=T0 + timedelta(minutes=4))
    # The resent code has a fresh TTL counted from the resend.
    verified = service.verify_code(session=session, request_id=request.id, code=latest,
                                   now=T0 + timedelta(minutes=3, seconds=settings.otp_ttl_seconds - 1))
    assert verified.status == RequestStatus.pending_review


def test_resend_after_invalidation_gives_a_working_code(session) -> None:
    request = _file(session).request
    code = emailed_code(session, request.id)
    for _ in range(3):
        with pytest.raises(InvalidInput):
            service.verify_code(session=session, request_id=request.id, code=f"{(int(code) + 1) % 10**6:06d}", now=T0)
    service.resend_code(session=session, request_id=request.id, now=T0)
    assert not request.code.invalidated and request.code.attempts == 0
    service.verify_code(session=session, request_id=request.id, code=emailed_code(session, request.id), now=T0)
    assert request.status == RequestStatus.pending_review


def test_unknown_ids_and_tokens(session) -> None:
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            service.get_request(session=session, request_id=bad)
    with pytest.raises(NotFound):
        service.get_by_status_token(session=session, token="nope")
    with pytest.raises(NotFound):
        service.get_by_status_token(session=session, token="")


def test_audit_entries_hold_no_personal_data(session) -> None:
    request = _file(session).request
    service.verify_code(session=session, request_id=request.id, code=emailed_code(session, request.id), now=T0)
    dumped = json.dumps([
        {"event": e.event, "actor": e.actor, "details": e.details}
        for e in session.scalars(select(AuditEntry).where(AuditEntry.request_id == request.id))
    ])
    for value in PERSONAL.values():
        if value != PERSONAL["target_model"]:
            assert value.lower() not in dumped.lower()
    assert request.email_index in dumped


def test_canceled_unverified_request_takes_no_code(session) -> None:
    request = _file(session).request
    code = emailed_code(session, request.id)
    service.cancel(session=session, request_id=request.id, actor="system")
    with pytest.raises(Conflict) as info:
        service.verify_code(session=session, request_id=request.id, code=code, now=T0)
    assert info.value.code == "not_awaiting_code"
    with pytest.raises(Conflict):
        service.resend_code(session=session, request_id=request.id, now=T0)
