"""The officer's queue: due-date order, day counts, duplicate flag, filters, pagination; and the outbox page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.pages.officer_queue import PAGE_SIZE
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus

RequestFactory = Callable[..., ErasureRequest]


def _rows(html: str) -> list[tuple[str, str]]:
    """(reference, row html) for each request row of the queue table, top to bottom."""
    return re.findall(r'<tr data-reference="([^"]+)">(.*?)</tr>', html, flags=re.S)


def _set_due(session: Session, req: ErasureRequest, days_from_now: int) -> None:
    # Written straight to the row, so the expected countdown does not depend on the page's own arithmetic.
    due = utcnow().replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=days_from_now)
    session.execute(update(ErasureRequest).where(ErasureRequest.id == req.id).values(due_at=due))
    session.commit()


def test_queue_is_sorted_by_due_date_with_days_left_due_today_and_overdue(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    later, overdue, today, soon = make_request(), make_request(), make_request(), make_request()
    _set_due(session, later, 20)
    _set_due(session, overdue, -3)
    _set_due(session, today, 0)
    _set_due(session, soon, 1)

    response = officer_client.get("/officer")
    assert response.status_code == 200
    rows = _rows(response.text)
    assert [ref for ref, _ in rows] == [overdue.reference, today.reference, soon.reference, later.reference]
    texts = dict(rows)
    assert "3 days overdue" in texts[overdue.reference]
    assert "due today" in texts[today.reference]
    assert "1 day left" in texts[soon.reference]
    assert "20 days left" in texts[later.reference]
    due = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%d")
    assert due in texts[later.reference]


def test_queue_flags_a_duplicate_request(
    officer_client: TestClient, make_request: RequestFactory
) -> None:
    first = make_request(email="same@example.org")
    second = make_request(email="SAME@example.org")
    texts = dict(_rows(officer_client.get("/officer").text))
    assert "Possible duplicate" in texts[second.reference]
    assert "Possible duplicate" not in texts[first.reference]
    assert "<td>Grace Hopper</td>" in texts[first.reference]  # the name column


def test_queue_flags_a_request_that_needs_a_new_attempt(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    failed, fine = make_request(), make_request()
    session.execute(update(ErasureRequest).where(ErasureRequest.id == failed.id).values(status=RequestStatus.failed))
    session.commit()
    texts = dict(_rows(officer_client.get("/officer").text))
    assert "Needs a new attempt" in texts[failed.reference] and "Needs a new attempt" not in texts[fine.reference]


def test_queue_filters_by_status_and_overdue(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    waiting, overdue = make_request(), make_request()
    unverified = make_request(verified=False)
    _set_due(session, overdue, -2)

    only_unverified = _rows(officer_client.get("/officer", params={"status": "identity_unverified"}).text)
    assert [ref for ref, _ in only_unverified] == [unverified.reference]

    only_overdue = _rows(officer_client.get("/officer", params={"overdue": "1"}).text)
    assert [ref for ref, _ in only_overdue] == [overdue.reference]

    both = _rows(officer_client.get("/officer", params={"status": "pending_review", "overdue": "1"}).text)
    assert [ref for ref, _ in both] == [overdue.reference]
    page = officer_client.get("/officer", params={"status": "pending_review"}).text
    assert '<option value="pending_review" selected>' in page
    assert {ref for ref, _ in _rows(page)} == {waiting.reference, overdue.reference}


def test_unknown_status_filter_or_page_is_a_clear_error(officer_client: TestClient) -> None:
    response = officer_client.get("/officer", params={"status": "lost"})
    assert response.status_code == 422
    assert "Unknown status filter." in response.text
    assert officer_client.get("/officer", params={"page": "0"}).status_code == 422
    assert officer_client.get("/officer", params={"page": "two"}).status_code == 422


def test_queue_paginates(officer_client: TestClient, session: Session, make_request: RequestFactory) -> None:
    made = [make_request() for _ in range(PAGE_SIZE + 2)]
    for days, req in enumerate(made):
        _set_due(session, req, days + 1)
    first = officer_client.get("/officer")
    assert len(_rows(first.text)) == PAGE_SIZE
    assert "Page 1 of 2" in first.text
    assert 'href="/officer?page=2"' in first.text
    second = officer_client.get("/officer", params={"page": "2"})
    assert [ref for ref, _ in _rows(second.text)] == [made[-2].reference, made[-1].reference]
    assert "Page 2 of 2" in second.text


def test_closed_requests_show_no_countdown(
    officer_client: TestClient, session: Session, make_request: RequestFactory
) -> None:
    req = make_request()
    session.execute(
        update(ErasureRequest).where(ErasureRequest.id == req.id).values(status=RequestStatus.canceled)
    )
    session.commit()
    texts = dict(_rows(officer_client.get("/officer").text))
    assert "closed" in texts[req.reference]
    assert "left" not in texts[req.reference] and "overdue" not in texts[req.reference]


def test_outbox_page_lists_the_emails_sent(
    officer_client: TestClient, make_request: RequestFactory
) -> None:
    req = make_request(email="outbox-reader@example.org")
    response = officer_client.get("/officer/outbox")
    assert response.status_code == 200
    assert "outbox-reader@example.org" in response.text
    assert req.reference in response.text
