"""The registry of target models: list and register them, see each model's versions, restore the previous one.

Registering checks the directory on the worker's disk (config.json and *.safetensors) and hashes the weights,
without loading the model. A refused registration shows the form again with the error and what was typed.
Restoring puts back a version that still holds data of the requests the current version erased: the page says
so and lists them, the service audits the restore against each of them and reopens the completed ones, and the
page names those it reopened.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import DomainError
from app.jobs import service as jobs_service
from app.pages.dependencies import BrowserSession, CsrfForm, CurrentOfficer, PageDb
from app.pages.officer_jobs import references_of
from app.pages.routing import PageRoute, discard_changes
from app.pages.templating import redirect, render
from app.requests.models import ErasureRequest
from app.requests.schemas import MAX_REASON
from app.requests.statuses import REOPEN_TRANSITIONS
from app.targets import service as target_service
from app.targets.models import TargetModel

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_FIELDS = ("name", "path", "description", "corpus")


def _list_context(db: Session, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  error: str | None = None) -> dict[str, Any]:
    return {"models": target_service.list_models(session=db), "values": values or {}, "errors": errors or {},
            "error": error}


@router.get("/officer/models", name="officer_models")
def models_page(request: Request, officer: CurrentOfficer, db: PageDb) -> Response:
    return render(request, "officer/models.html", _list_context(db))


@router.post("/officer/models", name="officer_models_register")
def register(request: Request, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
             browser: BrowserSession) -> Response:
    values = {name: str(form.get(name) or "").strip() for name in _FIELDS}
    try:
        model = target_service.add_model(session=db, name=values["name"], path=values["path"],
                                         actor=f"officer:{officer.id}", description=values["description"] or None,
                                         corpus=values["corpus"] or None)
    except DomainError as exc:
        discard_changes(request, exc)
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        errors = {field: exc.message} if field in _FIELDS else {}
        return render(request, "officer/models.html",
                      _list_context(db, values, errors, None if errors else exc.message), status_code=exc.status_code)
    browser.flash(f"Model {model.name} registered as version 1.")
    return redirect(f"/officer/models/{model.id}")


def _served(db: Session, model: TargetModel) -> dict[str, list[tuple[str, str]]]:
    """version id -> [(request id, reference)] of the requests whose erasure that version carries."""
    served = {v.id: jobs_service.requests_served_by(session=db, version_id=v.id) for v in model.versions}
    references = references_of(db, [rid for ids in served.values() for rid in ids])
    return {vid: [(rid, references.get(rid, rid)) for rid in ids] for vid, ids in served.items()}


def _undone(db: Session, model: TargetModel) -> list[ErasureRequest]:
    """The requests a restore now would undo, in the order the retired version served them."""
    ids = target_service.undone_by_restore(session=db, model=model)
    found = {r.id: r for r in db.scalars(select(ErasureRequest).where(ErasureRequest.id.in_(ids)))} if ids else {}
    return [found[rid] for rid in ids if rid in found]


@router.get("/officer/models/{model_id}", name="officer_model")
def model_page(request: Request, model_id: str, officer: CurrentOfficer, db: PageDb) -> Response:
    model = target_service.get_model(session=db, model_id=model_id)
    current = model.current
    parent = next((v for v in model.versions if v.id == current.parent_id), None)
    undone = _undone(db, model)
    return render(request, "officer/model.html", {
        "model": model, "current": current, "parent": parent, "served": _served(db, model),
        "numbers": {v.id: v.number for v in model.versions},
        "at_risk": undone, "to_reopen": [r for r in undone if r.status in REOPEN_TRANSITIONS],
        "max_reason": MAX_REASON,
    })


@router.post("/officer/models/{model_id}/restore", name="officer_model_restore")
def restore(request: Request, model_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
            browser: BrowserSession) -> Response:
    model = target_service.get_model(session=db, model_id=model_id)
    try:
        restored = target_service.restore_previous(session=db, model_id=model.id, actor=f"officer:{officer.id}",
                                                   reason=str(form.get("reason") or ""))
    except DomainError as exc:
        discard_changes(request, exc)
        browser.flash(f"Nothing was changed: {exc.message}", "error")
    else:
        message = (f"Version {restored.version.number} of {model.name} is the current version again. The restore "
                   "is recorded in the audit log of every request whose erasure it undid.")
        if restored.reopened:
            references = ", ".join(r.reference for r in restored.reopened)
            message += (f" Reopened (approved again, same due date): {references}. Run discovery and unlearning "
                        "for each of them again.")
        browser.flash(message)
    return redirect(f"/officer/models/{model.id}")
