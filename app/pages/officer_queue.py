"""The officer's request queue (sorted by due date, with countdowns and filters) and the email outbox."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.core.security import decrypt
from app.notifications import service as notification_service
from app.pages.dependencies import CurrentOfficer, PageDb
from app.pages.routing import PageRoute
from app.pages.templating import render
from app.pages.wording import Countdown, StatusWording, countdown, subject_status
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
OUTBOX_PAGE_SIZE = 20
MAX_PAGE_NUMBER = 100_000


@dataclass(frozen=True)
class QueueRow:
    req: ErasureRequest
    status: StatusWording
    countdown: Countdown | None
    name: str  # the subject's name as filed (officers see it on the request page too)


def _page_number(page: str | None) -> int:
    try:
        number = int(page or 1)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PAGE_NUMBER:
        raise InvalidInput("The page number must be a positive whole number.", details={"page": (page or "")[:20]})
    return number


def _status_filter(status: str | None) -> RequestStatus | None:
    if not status:
        return None
    try:
        return RequestStatus(status)
    except ValueError:
        raise InvalidInput(
            "Unknown status filter.", details={"allowed": [s.value for s in RequestStatus]}
        ) from None


@router.get("/officer", name="officer_queue")
def queue(
    request: Request,
    officer: CurrentOfficer,
    db: PageDb,
    status: str | None = None,
    overdue: str | None = None,
    page: str | None = None,
) -> Response:
    status_filter = _status_filter(status)
    only_overdue = bool(overdue)
    number = _page_number(page)
    now = utcnow()
    items, total = request_service.list_requests(
        session=db,
        status=status_filter,
        overdue=True if only_overdue else None,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
        now=now,
    )
    rows = [
        QueueRow(req=r, status=subject_status(r.status), countdown=countdown(status=r.status, due_at=r.due_at, now=now),
                 name=decrypt(r.name_enc))
        for r in items
    ]

    def page_url(n: int) -> str:
        params = {"status": status_filter.value if status_filter else "", "overdue": "1" if only_overdue else ""}
        return "/officer?" + urlencode({**{k: v for k, v in params.items() if v}, "page": n})

    return render(
        request,
        "officer/queue.html",
        {
            "rows": rows,
            "total": total,
            "page": number,
            "pages": max(math.ceil(total / PAGE_SIZE), 1),
            "page_url": page_url,
            "filters": {"status": status_filter.value if status_filter else "", "overdue": only_overdue},
            "status_options": [{"value": s.value, "label": s.label} for s in RequestStatus],
        },
    )


@router.get("/officer/outbox", name="officer_outbox")
def outbox(request: Request, officer: CurrentOfficer, db: PageDb, page: str | None = None) -> Response:
    number = _page_number(page)
    # One extra row tells whether an older page exists without a second count query.
    messages = notification_service.list_outbox(
        session=db, limit=OUTBOX_PAGE_SIZE + 1, offset=(number - 1) * OUTBOX_PAGE_SIZE
    )
    return render(
        request,
        "officer/outbox.html",
        {"messages": messages[:OUTBOX_PAGE_SIZE], "has_more": len(messages) > OUTBOX_PAGE_SIZE, "page": number},
    )
