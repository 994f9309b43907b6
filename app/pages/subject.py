"""The data subject's pages (no login): the request form, the code entry page and the status page.

The status pages are keyed by the unguessable status token returned once by ``create_request``; only its hash
is stored, so the link in the subject's hands is the only way in.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.errors import CodeRejected, DomainError
from app.idempotency.service import MAX_KEY as MAX_SUBMISSION
from app.idempotency.service import idempotent
from app.pages.dependencies import BrowserSession, CsrfForm, PageDb
from app.pages.routing import PageRoute, discard_changes
from app.pages.templating import redirect, render
from app.pages.wording import decision, subject_status
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.requests.statuses import OPEN_STATUSES, RequestStatus

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FORM_FIELDS = ("full_name", "email", "phone", "postal_address", "other_identifiers", "details", "target_model")
_LABELS = {
    "full_name": "Full name",
    "email": "Email address",
    "phone": "Phone number",
    "postal_address": "Postal address",
    "other_identifiers": "Other identifiers",
    "details": "What should be forgotten",
    "target_model": "Model or service concerned",
}


def _max_lengths() -> dict[str, int | None]:
    """The schema's limits, so that the form's maxlength attributes can never disagree with validation (read from
    the JSON schema: an optional field's limit sits inside its ``anyOf``)."""
    limits: dict[str, int | None] = {}
    for name, prop in RequestCreate.model_json_schema()["properties"].items():
        options = [prop, *prop.get("anyOf", ())]
        limits[name] = next((o["maxLength"] for o in options if "maxLength" in o), None)
    return limits


def _field_errors(exc: ValidationError, values: dict[str, str]) -> dict[str, str]:
    """One clear sentence per field, in the form's order."""
    errors: dict[str, str] = {}
    limits = _max_lengths()
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        if name not in _LABELS or name in errors:
            continue
        label = _LABELS[name]
        if err["type"] == "string_too_long":
            errors[name] = f"{label} must be at most {limits.get(name)} characters."
        elif not values.get(name, "").strip():
            errors[name] = f"Enter your {label.lower()}."
        elif name == "email":
            errors[name] = "Enter a valid email address, like name@example.com."
        elif err["type"] == "value_error":  # the text policy's own words (app.core.fields)
            errors[name] = f"{label} {str(err['msg']).removeprefix('Value error, ')}."
        else:
            errors[name] = f"{label} is not valid."
    return {name: errors[name] for name in FORM_FIELDS if name in errors}


def _form_page(request: Request, *, values: dict[str, str], errors: dict[str, str], status_code: int,
               submission: str | None = None) -> Response:
    return render(
        request,
        "subject/form.html",
        {"values": values, "errors": errors, "maxlengths": _max_lengths(),
         "submission": submission or secrets.token_urlsafe(24)},
        status_code=status_code,
    )


@router.get("/", name="request_form")
def request_form(request: Request) -> Response:
    return _form_page(request, values={}, errors={}, status_code=200)


@router.post("/requests", name="submit_request")
def submit_request(request: Request, form: CsrfForm, db: PageDb) -> Response:
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    try:
        data = RequestCreate(**values)
    except ValidationError as exc:
        return _form_page(request, values=values, errors=_field_errors(exc, values), status_code=422,
                          submission=str(form.get("submission") or "")[:MAX_SUBMISSION] or None)
    settings = request.app.state.settings

    def create() -> dict[str, str]:
        created = request_service.create_request(session=db, data=data, channel="web", settings=settings)
        return {"location": f"/status/{created.status_token}/verify"}

    # A form sent twice (a double click, a resubmit after a timeout) files one request: the form carries a
    # random submission key, and a second post of it is answered with the first one's redirect.
    submission = str(form.get("submission") or "")[:MAX_SUBMISSION] or None
    answer = idempotent(session=db, settings=settings, caller="web-form", operation="submitRequest",
                        key=submission, body=values, status_code=303, produce=create,
                        replay=lambda content, _status: redirect(content["location"]))
    return answer if isinstance(answer, Response) else redirect(answer["location"])


def _resends_left(req: ErasureRequest, settings: Settings) -> int | None:
    otp = req.code
    return None if otp is None else max(settings.otp_max_resends - otp.resends, 0)


def _verify_page(
    request: Request, *, req: ErasureRequest, token: str, code_error: str | None = None, status_code: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    context: dict[str, Any] = {
        "req": req,
        "token": token,
        "code_error": code_error,
        "ttl_minutes": max(settings.otp_ttl_seconds // 60, 1),
        "resends_left": _resends_left(req, settings),
    }
    return render(request, "subject/verify.html", context, status_code=status_code)


@router.get("/status/{token}/verify", name="verify_form")
def verify_form(request: Request, token: str, db: PageDb) -> Response:
    req = request_service.get_by_status_token(session=db, token=token)
    if req.status != RequestStatus.identity_unverified:
        return redirect(f"/status/{token}")
    return _verify_page(request, req=req, token=token)


@router.post("/status/{token}/verify", name="verify_code")
def verify_code(request: Request, token: str, form: CsrfForm, db: PageDb, browser: BrowserSession) -> Response:
    req = request_service.get_by_status_token(session=db, token=token)
    if req.status != RequestStatus.identity_unverified:
        return redirect(f"/status/{token}")
    try:
        request_service.verify_code(
            session=db, request_id=req.id, code=str(form.get("code") or ""), settings=request.app.state.settings
        )
    except CodeRejected as exc:
        # Not rolled back: the failed attempt must count towards the limit.
        return _verify_page(request, req=req, token=token, code_error=exc.message, status_code=422)
    except DomainError as exc:
        discard_changes(request, exc)
        return _verify_page(request, req=req, token=token, code_error=exc.message, status_code=exc.status_code)
    browser.flash("Thank you: your email address is confirmed and your request is now with our data protection team.")
    return redirect(f"/status/{token}")


@router.post("/status/{token}/resend", name="resend_code")
def resend_code(request: Request, token: str, form: CsrfForm, db: PageDb, browser: BrowserSession) -> Response:
    req = request_service.get_by_status_token(session=db, token=token)
    if req.status != RequestStatus.identity_unverified:
        return redirect(f"/status/{token}")
    try:
        request_service.resend_code(session=db, request_id=req.id, settings=request.app.state.settings)
    except DomainError as exc:
        discard_changes(request, exc)
        browser.flash(exc.message, "error")
    else:
        browser.flash("We have emailed you a new code. Codes sent before it no longer work.")
    return redirect(f"/status/{token}/verify")


def reopened_at(db: Session, req: ErasureRequest) -> datetime | None:
    """When a model version restore last reopened ``req``, while its erasure is being carried out again.

    Only ``requests.service.reopen`` takes a request out of completed, so an open request with a
    ``request.reopened`` entry in its audit log is one whose erasure the restore undid."""
    if RequestStatus(req.status) not in OPEN_STATUSES:
        return None
    return db.scalar(select(AuditEntry.created_at)
                     .where(AuditEntry.request_id == req.id, AuditEntry.event == "request.reopened")
                     .order_by(AuditEntry.seq.desc()).limit(1))


@router.get("/status/{token}", name="request_status")
def request_status(request: Request, token: str, db: PageDb) -> Response:
    req = request_service.get_by_status_token(session=db, token=token)
    if req.status == RequestStatus.identity_unverified:
        return redirect(f"/status/{token}/verify")
    reopened = reopened_at(db, req)
    return render(
        request,
        "subject/status.html",
        {"req": req, "status": subject_status(req.status, reopened=reopened is not None), "decision": decision(req),
         "reopened_at": reopened},
    )
