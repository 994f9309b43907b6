"""Discovery and unlearning from the officer's pages: start, follow live, cancel, read the evidence, batch.

The request page gets a "Model and discovery" section (``request_section``); each job has its own page and a
panel fragment that htmx polls every 2 s while the job is active (without JavaScript a Refresh link does the
same). Every POST checks CSRF and the signed-in officer, calls the jobs service (which validates, audits and
enqueues after commit) and redirects with a flash; a domain error is rolled back and becomes the flash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.audit import bundle as bundle_service
from app.core.errors import DomainError
from app.jobs import attacks as attack_policy
from app.jobs import service as jobs_service
from app.jobs.methods import DEFAULT_METHOD, METHOD_CHOICES
from app.jobs.models import Job, JobKind
from app.pages import evidence_view, findings_view
from app.pages.dependencies import BrowserSession, CsrfForm, CurrentOfficer, PageDb
from app.pages.next_steps import Suggestion, next_steps
from app.pages.routing import PageRoute, discard_changes
from app.pages.session import PageSession
from app.pages.templating import redirect, render, render_partial
from app.pages.wording import JOB_KIND_LABELS, attribute_label, job_status, stage_label, subject_status
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus
from app.targets import service as target_service

router = APIRouter(route_class=PageRoute, include_in_schema=False)

POLL_EVERY = "every 2s"
# Where a job panel's Cancel button sends the officer back to.
_BACK = {"request", "job"}


def _actor(officer: Any) -> str:
    return f"officer:{officer.id}"


def _attempt(request: Request, browser: PageSession, action: Callable[[], object], done: str) -> object | None:
    """Run ``action``; flash ``done`` or, on a domain error, roll back and flash its message instead."""
    try:
        result = action()
    except DomainError as exc:
        discard_changes(request, exc)
        browser.flash(f"Nothing was changed: {exc.message}", "error")
        return None
    browser.flash(done)
    return result


def references_of(db: Session, request_ids: list[str]) -> dict[str, str]:
    if not request_ids:
        return {}
    rows = db.execute(select(ErasureRequest.id, ErasureRequest.reference).where(ErasureRequest.id.in_(request_ids)))
    return {request_id: reference for request_id, reference in rows}


# ---- the job panel -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    job: Job
    kind: str
    status_label: str
    status_tone: str
    stage: str
    message: str
    step: int | None
    total: int | None
    loss: float | None
    leak_rate: float | None
    references: dict[str, str]
    polling: bool
    can_cancel: bool
    back: str
    next_steps: list[Suggestion]


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def panel(db: Session, job: Job, *, back: str = "job") -> Panel:
    progress = job.progress or {}
    wording = job_status(job.status.value)
    total = _int(progress.get("total"))
    return Panel(
        job=job, kind=JOB_KIND_LABELS.get(job.kind.value, job.kind.value), status_label=wording.label,
        status_tone=wording.tone, stage=stage_label(progress.get("stage")), message=str(progress.get("message") or ""),
        step=_int(progress.get("step")), total=total if total and total > 0 else None,
        loss=_float(progress.get("loss")), leak_rate=_float(progress.get("leak_rate")),
        references=references_of(db, job.request_ids), polling=job.active,
        can_cancel=job.active and job.cancel_requested_at is None, back=back if back in _BACK else "job",
        next_steps=next_steps(job),
    )


# ---- the request page's section --------------------------------------------------------------------------------


def _default_model_id(req: ErasureRequest, models: list[Any]) -> str | None:
    """The request's model once a job chose it, else the one the subject named, else the only one registered."""
    if req.target_model_id:
        return req.target_model_id
    named = (req.target_model or "").strip().lower()  # matched as target_service.find_by_name does
    for model in models:
        if named and model.name == named:
            return model.id
    return models[0].id if len(models) == 1 else None


def _attack_checks(db: Session) -> list[tuple[str, bool]]:
    """(label, gates the verdict) of each attack check the next unlearning job runs (the officer's setting)."""
    policy = attack_policy.current_policy(session=db)
    return [(attack_policy.ATTACK_LABELS[name], name in policy.gating) for name in policy.attacks]


def request_section(db: Session, req: ErasureRequest) -> dict[str, Any]:
    """Context of the request page's "Model and discovery" section."""
    models = target_service.list_models(session=db)
    jobs = jobs_service.jobs_for_request(session=db, request_id=req.id)
    active = next((j for j in jobs if j.active), None)
    shown = active or (jobs[0] if jobs else None)
    found = jobs_service.latest_findings(session=db, request_id=req.id)
    view = findings_view.build(found) if found else None
    status = RequestStatus(req.status)
    last_unlearning = next((j for j in jobs if j.kind == JobKind.unlearning and not j.active), None)
    return {
        "models": models,
        "default_model_id": _default_model_id(req, models),
        "jobs": [(j, job_status(j.status.value)) for j in jobs],
        "job_kinds": JOB_KIND_LABELS,
        "panel": panel(db, shown, back="request") if shown else None,
        "findings": view,
        "can_discover": status in jobs_service.DISCOVERABLE and active is None and bool(models),
        "discover_blocked": status in jobs_service.DISCOVERABLE and not models,
        "can_unlearn": status in jobs_service.UNLEARNABLE and active is None and view is not None,
        "can_close": status == RequestStatus.approved and active is None and view is not None and view.nothing_found,
        "methods": METHOD_CHOICES,
        "default_method": DEFAULT_METHOD,
        "param_bounds": jobs_service.PARAM_BOUNDS,
        "attack_checks": _attack_checks(db),
        "last_unlearning": last_unlearning,
        "bundle_available": True,
    }


# ---- actions on a request --------------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _params(form: FormData) -> dict[str, str]:
    # Empty fields keep the method's defaults; the service checks names, numbers and bounds.
    return {key: _text(form, key) for key in ("max_steps", "lr", "seed") if _text(form, key)}


def _back_to(req_id: str) -> Response:
    return redirect(f"/officer/requests/{req_id}")


@router.post("/officer/requests/{request_id}/discover", name="officer_discover")
def discover(request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
             browser: BrowserSession) -> Response:
    req = request_service.get_request(session=db, request_id=request_id)
    _attempt(request, browser, lambda: jobs_service.start_discovery(
        session=db, request_id=req.id, actor=_actor(officer), model_id=_text(form, "model_id") or None),
        "Discovery started. It asks the model about the subject in many ways; the findings appear below when "
        "it finishes.")
    return _back_to(req.id)


@router.post("/officer/requests/{request_id}/unlearn", name="officer_unlearn")
def unlearn(request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
            browser: BrowserSession) -> Response:
    req = request_service.get_request(session=db, request_id=request_id)

    def start() -> Job:
        found = jobs_service.latest_findings(session=db, request_id=req.id)
        included = [str(a) for a in form.getlist("include")]
        # What discovery confirmed is always removed; the officer adds the candidates they ticked.
        chosen = list(dict.fromkeys([*(found.confirmed if found else []), *included]))
        return jobs_service.start_unlearning(session=db, request_ids=[req.id], actor=_actor(officer),
                                             method=_text(form, "method") or None,
                                             attributes={req.id: chosen} if chosen else None, params=_params(form))

    _attempt(request, browser, start,
             "Unlearning started. Progress is shown below; the request completes when the removal is verified.")
    return _back_to(req.id)


@router.post("/officer/requests/{request_id}/close", name="officer_close_nothing_found")
def close_nothing_found(request: Request, request_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
                        browser: BrowserSession) -> Response:
    req = request_service.get_request(session=db, request_id=request_id)
    _attempt(request, browser, lambda: jobs_service.close_without_findings(session=db, request_id=req.id,
                                                                            actor=_actor(officer)),
             "Request closed: the model revealed none of the subject's details. The subject has been emailed.")
    return _back_to(req.id)


# ---- jobs --------------------------------------------------------------------------------------------------------


def _job_context(db: Session, job: Job) -> dict[str, Any]:
    references = references_of(db, job.request_ids)
    requests = [request_service.get_request(session=db, request_id=rid) for rid in job.request_ids]
    return {
        "job": job,
        "panel": panel(db, job, back="job"),
        "kind": JOB_KIND_LABELS.get(job.kind.value, job.kind.value),
        "served": [(r, subject_status(r.status)) for r in requests],
        "evidence": evidence_view.build(job, references),
        "method_explanation": METHOD_CHOICES.get(job.method or ""),
        "attributes": {link.request_id: [attribute_label(a) for a in link.attributes or []] for link in job.requests},
        "bundle_available": True,
    }


@router.get("/officer/jobs/{job_id}", name="officer_job")
def job_page(request: Request, job_id: str, officer: CurrentOfficer, db: PageDb) -> Response:
    job = jobs_service.get_job(session=db, job_id=job_id)
    return render(request, "officer/job.html", _job_context(db, job))


@router.get("/officer/jobs/{job_id}/panel", name="officer_job_panel")
def job_panel(request: Request, job_id: str, officer: CurrentOfficer, db: PageDb, back: str = "job") -> Response:
    job = jobs_service.get_job(session=db, job_id=job_id)
    response = render_partial(request, "partials/job_panel.html", {"panel": panel(db, job, back=back)})
    if request.headers.get("HX-Request") and not job.active:
        # Only a panel of an active job polls, so this poll saw the job end: reload the whole page, whose
        # findings, status and evidence changed with it (the reloaded panel no longer polls).
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/officer/jobs/{job_id}/cancel", name="officer_job_cancel")
def cancel_job(request: Request, job_id: str, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
               browser: BrowserSession) -> Response:
    job = jobs_service.get_job(session=db, job_id=job_id)
    back_to_request = _text(form, "back") == "request" and len(job.request_ids) == 1
    target = f"/officer/requests/{job.request_ids[0]}" if back_to_request else f"/officer/jobs/{job.id}"
    _attempt(request, browser, lambda: jobs_service.cancel(session=db, job_id=job.id, actor=_actor(officer)),
             "Cancel requested. A waiting job stops now; a running one stops at its next progress report.")
    return redirect(target)


@router.get("/officer/requests/{request_id}/bundle.json", name="officer_bundle")
def bundle(request: Request, request_id: str, officer: CurrentOfficer, db: PageDb) -> Response:
    req = request_service.get_request(session=db, request_id=request_id)
    # The same bytes as `rtbf audit export` writes, so `rtbf audit verify-bundle` checks the download alike.
    body = bundle_service.dumps(bundle_service.build_bundle(session=db, request_id=req.id))
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="rtbf-evidence-{req.reference}.json"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


# ---- batch -------------------------------------------------------------------------------------------------------

BATCH_SCAN_LIMIT = 200


@dataclass(frozen=True)
class BatchRow:
    req: ErasureRequest
    status_label: str
    confirmed: list[str]
    candidates: list[str]


def batch_candidates(db: Session) -> list[tuple[Any, list[BatchRow]]]:
    """Approved (or failed) requests with findings on their model's current version and no job running,
    grouped by model: each group can become one unlearning job that makes one new model version."""
    groups: dict[str, tuple[Any, list[BatchRow]]] = {}
    for status in sorted(jobs_service.UNLEARNABLE):
        requests, _ = request_service.list_requests(session=db, status=status, limit=BATCH_SCAN_LIMIT)
        for req in requests:
            if jobs_service.active_job(session=db, request_id=req.id) is not None:
                continue
            found = jobs_service.latest_findings(session=db, request_id=req.id)
            if found is None or not found.confirmed:
                continue
            model = found.job.target_model
            groups.setdefault(model.id, (model, []))[1].append(BatchRow(
                req=req, status_label=subject_status(req.status).label,
                confirmed=[attribute_label(a) for a in found.confirmed],
                candidates=[attribute_label(a) for a in found.candidates]))
    return sorted(groups.values(), key=lambda group: group[0].name)


@router.get("/officer/batch", name="officer_batch")
def batch_page(request: Request, officer: CurrentOfficer, db: PageDb) -> Response:
    return render(request, "officer/batch.html", {"groups": batch_candidates(db), "methods": METHOD_CHOICES,
                                                  "default_method": DEFAULT_METHOD,
                                                  "max_batch": jobs_service.MAX_BATCH})


@router.post("/officer/batch", name="officer_batch_start")
def batch_start(request: Request, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
                browser: BrowserSession) -> Response:
    ids = [str(v) for v in form.getlist("request_id")]
    job = _attempt(request, browser, lambda: jobs_service.start_unlearning(
        session=db, request_ids=ids, actor=_actor(officer), method=_text(form, "method") or None),
        f"Unlearning started for {len(ids)} {'request' if len(ids) == 1 else 'requests'} in one job.")
    return redirect(f"/officer/jobs/{job.id}" if isinstance(job, Job) else "/officer/batch")
