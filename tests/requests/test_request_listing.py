from datetime import timedelta

import pytest

from app.core.errors import InvalidInput
from app.requests import service
from app.requests.grounds import DenialGround
from app.requests.statuses import RequestStatus
from tests_requests_helpers import T0

NOW = T0 + timedelta(days=40)  # 12 March 2025


@pytest.fixture
def queue(session, make_request):
    """Five requests received on different days; one denied, one still unverified."""
    received = [T0 + timedelta(days=d) for d in (20, 0, 35, 5, 1)]
    requests = [make_request(now=r) for r in received]
    service.deny(session=session, request_id=requests[3].id, actor="system", ground=DenialGround.excessive, reason="r")
    unverified = make_request(verified=False, now=T0 + timedelta(days=2))
    return requests, unverified


def test_sorted_by_due_date_with_total(session, queue) -> None:
    requests, unverified = queue
    items, total = service.list_requests(session=session, now=NOW)
    assert total == 6
    assert [r.due_at for r in items] == sorted(r.due_at for r in items)
    assert items[0].id == requests[1].id


def test_overdue_filter(session, queue) -> None:
    requests, unverified = queue
    overdue, total = service.list_requests(session=session, overdue=True, now=NOW)
    # Due 28 Feb and 4 Mar: open and past; the denied one and the unverified one are not "overdue".
    assert {r.id for r in overdue} == {requests[1].id, requests[4].id} and total == 2
    assert all(r.is_overdue(NOW) and r.days_left(NOW) < 0 for r in overdue)
    rest, rest_total = service.list_requests(session=session, overdue=False, now=NOW)
    assert rest_total == 4 and not {r.id for r in rest} & {r.id for r in overdue}


def test_status_filter_and_pagination(session, queue) -> None:
    page1, total = service.list_requests(session=session, status=RequestStatus.pending_review, limit=2, now=NOW)
    page2, _ = service.list_requests(session=session, status=RequestStatus.pending_review, limit=2, offset=2, now=NOW)
    assert total == 4 and len(page1) == 2 and len(page2) == 2
    assert not {r.id for r in page1} & {r.id for r in page2}
    denied, denied_total = service.list_requests(session=session, status=RequestStatus.denied, now=NOW)
    assert denied_total == 1 and denied[0].status == RequestStatus.denied


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (201, 0), (10, -1)])
def test_bad_paging_is_refused(session, limit, offset) -> None:
    with pytest.raises(InvalidInput):
        service.list_requests(session=session, limit=limit, offset=offset)
