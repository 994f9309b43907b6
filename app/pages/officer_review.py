"""The officer's view of one request (identifiers, deadline, history) and the review actions posted from it.

Each action checks CSRF, calls the requests service (which validates, audits and emails the subject) and
redirects back with a flash message; a domain error is rolled back and shown as the flash instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.core.db import utcnow
from app.core.errors import DomainError, InvalidInput
from app.officers.models import Officer
from app.pages import officer_jobs
from app.pages.dependencies import BrowserSession, CsrfForm, CurrentOfficer, PageDb
from app.pages.routing import PageRoute, discard_changes
from app.pages.templating import redirect, render
from app.pages.wording import countdown, detail_items, event_sentence, subject_status
from app.requests import review
from app.requests import service as request_service
from app.requests.deadlines import MAX_EXTENSION_MONTHS
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.models import ErasureRequest
from app.requests.schemas import MAX_REASON
from app.requests.statuses import ALLOWED_TRANSITIONS, RequestStatus

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class HistoryItem:
    at: datetime
    sentence: str
    actor: str
    details: list[tuple[str, str]]


def _actor_label(actor: str, officers: dict[str, str]) -> str:
    kind, _, ident = actor.partition(":")
    if kind == "officer":
        return f"Officer {officers.get(ident, ident)}"
    if kind == "apikey":
        return f"API key {ident}"
    return {"subject": "The data subject", "system": "The system"}.get(actor, actor)


def _history(db: Session, request_id: str) -> list[HistoryItem]:
    entries = request_service.history(session=db, request_id=request_id)
    officer_ids = {e.actor.partition(":")[2] for e in entries if e.actor.startswith("officer:")}
    officers: dict[str, str] = {}
    if officer_ids:
        rows = db.execute(select(Officer.id, Officer.display_name).where(Officer.id.in_(officer_ids)))
        officers = {officer_id: name for officer_id, name in rows}
    return [
        HistoryItem(
            at=e.created_at,
            sentence=event_sentence(e.event),
            actor=_actor_label(e.actor, officers),
            details=detail_items(e.details),
        )
        for e in entries
    ]


def _detail_context(db: Session, req: ErasureRequest, now: datetime) -> dict[str, Any]:
    allowed = ALLOWED_TRANSITIONS[req.status]
    duplicate = db.get(ErasureRequest, req.duplicate_of_id) if req.duplicate_of_id else None
    return {
        "req": req,
        "ids": request_service.identifiers(req),
        "status": subject_status(req.status),
        "countdown": countdown(status=req.status, due_at=req.due_at, now=now),
        "duplicate": duplicate,
        "history": _history(db, req.id),
        # An officer approves a request under review; "approved" is also where a finished discovery returns a
        # request to, which is the system's move, not a second approval.
        "can_approve": req.status == RequestStatus.pending_review and RequestStatus.approved in allowed,
        "can_deny": RequestStatus.denied in allowed,
        "can_cancel": RequestStatus.canceled in allowed,
        "can_extend": review.can_extend(req, now),
        "erasure_grounds": list(ErasureGround),
        "denial_grounds": list(DenialGround),
        "extension_months": list(range(1, MAX_EXTENSION_MONTHS + 1)),
        "decided_by": _actor_label(req.decided_by, {}) if req.decided_by else None,
        "max_reason": MAX_REASON,
    }


@router.get("/officer/requests/{request_id}", name="officer_request")
def request_detail(request: Request, request_id: str, officer: CurrentOfficer, db: PageDb) -> Response:
    req = request_service.get_request(session=db, request_id=request_id)
    context = _detail_context(db, req, utcnow())
    if req.decided_by and req.decided_by.startswith("officer:"):
        decider = db.get(Officer, req.decided_by.partition(":")[2])
        context["decided_by"] = f"{decider.display_name} ({decider.email})" if decider else context["decided_by"]
    context.update(officer_jobs.request_section(db, req))
    return render(request, "officer/detail.html", context)


def _months(form: FormData) -> int:
    raw = str(form.get("months") or "")
    if not raw.isdigit():
        raise InvalidInput(f"Choose an extension of 1 to {MAX_EXTENSION_MONTHS} months.", details={"field": "months"})
    return int(raw)


def _act(
    request: Request,
    *,
    db: Session,
    browser: Any,
    request_id: str,
    action: Callable[[], object],
    done: str,
) -> Response:
    # Resolve the id first: an unknown id is a 404 page, not a flash on a page that does not exist.
    canonical_id = request_service.get_request(session=db, request_id=request_id).id
    try:
        action()
    except DomainError as exc:
        discard_changes(request, exc)
        browser.flash(f"Nothing was changed: {exc.message}", "error")
    else:
        browser.flash(done)
    return redirect(f"/officer/requests/{canonical_id}")


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "")


@router.post("/officer/requests/{request_id}/approve", name="officer_approve")
def approve(
    request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb, browser: BrowserSession
) -> Response:
    return _act(
        request, db=db, browser=browser, request_id=request_id,
        action=lambda: request_service.approve(
            session=db, request_id=request_id, actor=f"officer:{officer.id}",
            ground=_text(form, "ground"), note=_text(form, "note") or None,  # type: ignore[arg-type]
            settings=request.app.state.settings,
        ),
        done="Request approved. The subject has been emailed.",
    )


@router.post("/officer/requests/{request_id}/deny", name="officer_deny")
def deny(
    request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb, browser: BrowserSession
) -> Response:
    return _act(
        request, db=db, browser=browser, request_id=request_id,
        action=lambda: request_service.deny(
            session=db, request_id=request_id, actor=f"officer:{officer.id}",
            ground=_text(form, "ground"), reason=_text(form, "reason"),  # type: ignore[arg-type]
            settings=request.app.state.settings,
        ),
        done="Request denied. The subject has been emailed the reason.",
    )


@router.post("/officer/requests/{request_id}/extend", name="officer_extend")
def extend(
    request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb, browser: BrowserSession
) -> Response:
    return _act(
        request, db=db, browser=browser, request_id=request_id,
        action=lambda: request_service.extend(
            session=db, request_id=request_id, actor=f"officer:{officer.id}",
            months=_months(form), reason=_text(form, "reason"), settings=request.app.state.settings,
        ),
        done="Deadline extended. The subject has been emailed the new due date and the reason.",
    )


@router.post("/officer/requests/{request_id}/cancel", name="officer_cancel")
def cancel(
    request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb, browser: BrowserSession
) -> Response:
    return _act(
        request, db=db, browser=browser, request_id=request_id,
        action=lambda: request_service.cancel(
            session=db, request_id=request_id, actor=f"officer:{officer.id}",
            reason=_text(form, "reason") or None, settings=request.app.state.settings,
        ),
        done="Request canceled.",
    )
