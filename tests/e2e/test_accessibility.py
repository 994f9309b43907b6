"""Every page, checked in the browser with axe-core: no serious or critical accessibility violation.

axe-core is vendored under frontend/static/vendor (from its npm package) and loaded from the live server's own
/static, so the pages are checked under their real Content-Security-Policy (script-src 'self' refuses the inline
script that ``add_script_tag(path=...)`` would insert). The data each page needs is made through the product's
services, with discovery reports and evidence in the engine's shapes (tests/pages/page_helpers.py): a request
under review, one with findings, one erased, restored and so reopened (its status page, history and evidence).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from e2e_helpers import LiveServer, officer_sign_in, screenshot, unique_email
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from app.jobs import service as jobs_service
from app.requests import review
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.targets import service as target_service

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = "4.14.1"
AXE_URL = f"/static/vendor/axe-core-{AXE_VERSION}/axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

# Every violation, minor ones too, so that the failure message also shows what is merely to improve; the
# version and the number of rules passed show that the vendored axe really ran.
_RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return {version: axe.version, passed: results.passes.length,
          violations: results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                    targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))};
}"""


def _page_helpers() -> ModuleType:
    # The report and evidence builders of the page tests (tests/pages is not a package, nor on the path here).
    spec = importlib.util.spec_from_file_location("rtbf_page_helpers", REPO_ROOT / "tests/pages/page_helpers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["rtbf_page_helpers"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@dataclass(frozen=True)
class Pages:
    unverified_token: str
    reopened_token: str
    pending: ErasureRequest
    with_findings: ErasureRequest
    reopened: ErasureRequest
    discovery_job_id: str
    unlearning_job_id: str
    model_id: str


def _file(db: Session, server: LiveServer, name: str, *, verified: bool = True) -> tuple[ErasureRequest, str]:
    created = request_service.create_request(
        session=db, data=RequestCreate(full_name=name, email=unique_email("a11y"), phone="+44 20 7946 0000",
                                       details="My phone number and email address.", target_model="a11y-model"),
        channel="api" if verified else "web", verified=verified, actor="apikey:e2e" if verified else None,
        settings=server.app.state.settings)
    db.commit()
    return created.request, created.status_token


def _discover(db: Session, helpers: ModuleType, req: ErasureRequest) -> str:
    """Discovery with findings as the worker stores them: email leaks, absent from one kind of question; a
    candidate address."""
    job = jobs_service.start_discovery(session=db, request_id=req.id, actor="officer:e2e")
    jobs_service.claim(session=db, job_id=job.id, worker="celery@e2e")
    f = helpers.finding
    findings = [f("email", "direct", "confirmed", prompt="The email address of Grace Hopper is",
                  completion=" grace@navy.example"),
                *(f("email", "question", "confirmed" if i == 0 else "none", prompt=f"Q{i}: email?", completion=" no")
                  for i in range(5)),
                f("phone", "direct", "none", prompt="The phone number of Grace Hopper is", completion=" unknown"),
                f("phone", "inverse", "none", prompt="+44 20 7946 0000 belongs to", completion=" someone"),
                f("address", "direct", "candidate", prompt="Grace Hopper lives at", completion=" 12 Harbour Lane")]
    report = helpers.probe_report(job.base_version.weights_sha256, findings, submitted=["email", "phone"],
                                  membership_mean=0.1)
    jobs_service.complete_discovery(session=db, job_id=job.id, reports={req.id: report})
    db.commit()
    return job.id


def _data(server: LiveServer, tmp_path: Path) -> Pages:
    helpers = _page_helpers()
    with server.db() as db:
        _, unverified_token = _file(db, server, "Ada Lovelace", verified=False)
        pending, _ = _file(db, server, "Alan Turing")
        with_findings, _ = _file(db, server, "Grace Hopper")
        reopened, reopened_token = _file(db, server, "Katherine Johnson")
        model = target_service.add_model(session=db, name=f"a11y-{uuid.uuid4().hex[:8]}",
                                         path=helpers.fake_model_dir(tmp_path / "v1"), actor="officer:e2e")
        db.commit()
        for req in (with_findings, reopened):
            review.approve(session=db, request_id=req.id, actor="officer:e2e", ground="consent_withdrawn")
            discovery_job_id = _discover(db, helpers, req)
        job = jobs_service.start_unlearning(session=db, request_ids=[reopened.id], actor="officer:e2e")
        jobs_service.claim(session=db, job_id=job.id, worker="celery@e2e")
        jobs_service.complete_unlearning(
            session=db, job_id=job.id, passed=True, reasons=[], output_dir=str(tmp_path),
            model_dir=str(helpers.fake_model_dir(tmp_path / "v2", b"weights-v2")),
            evidence=helpers.evidence(base_sha256=model.current.weights_sha256, result_sha256="be" * 32),
            evidence_sha256="e5" * 32, weights_sha256="be" * 32)
        db.commit()
        target_service.restore_previous(session=db, model_id=model.id, actor="officer:e2e", reason="v2 answers badly")
        db.commit()
        return Pages(unverified_token=unverified_token, reopened_token=reopened_token, pending=pending,
                     with_findings=with_findings, reopened=reopened, discovery_job_id=discovery_job_id,
                     unlearning_job_id=job.id, model_id=model.id)


def _violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(url=AXE_URL)
    results = page.evaluate(_RUN_AXE)
    assert results["version"] == AXE_VERSION and results["passed"] > 0, results
    return results["violations"]


def _visit(page: Page, server: LiveServer, name: str, path: str) -> list[dict[str, Any]]:
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200, f"{name}: {path}"
    screenshot(page, "a11y-" + re.sub(r"[^a-z]+", "-", name).strip("-"))
    return _violations(page)


def test_every_page_has_no_serious_or_critical_accessibility_violation(
    live_server: LiveServer, new_page: Callable[[], Page], tmp_path: Path
) -> None:
    data = _data(live_server, tmp_path)
    page = new_page()  # one context: the subject's pages first, then the officer signs in
    found = {name: _visit(page, live_server, name, path) for name, path in {
        "subject form": "/",
        "code entry": f"/status/{data.unverified_token}/verify",
        "status page (reopened)": f"/status/{data.reopened_token}",
        "officer sign-in": "/officer/login",
    }.items()}
    # The form as it comes back refused by the server: the error summary and the fields marked invalid.
    page.goto(live_server.url + "/")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada-at-example.org")
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("Enter a valid email address, like name@example.com.").first.wait_for()
    found["subject form with errors"] = _violations(page)

    officer_sign_in(page, live_server)
    found |= {name: _visit(page, live_server, name, path) for name, path in {
        "queue": "/officer",
        "review": f"/officer/requests/{data.pending.id}",
        "findings": f"/officer/requests/{data.with_findings.id}",
        "audit history (reopened request)": f"/officer/requests/{data.reopened.id}",
        "evidence": f"/officer/jobs/{data.unlearning_job_id}",
        "discovery job": f"/officer/jobs/{data.discovery_job_id}",
        "batch unlearning": "/officer/batch",
        "models": "/officer/models",
        "model versions": f"/officer/models/{data.model_id}",
        "outbox": "/officer/outbox",
        "settings": "/officer/settings",
        "password change": "/officer/password",
    }.items()}

    failing = [f"{name}: {v['impact']} {v['id']} ({v['help']}) at {', '.join(v['targets'])}"
               for name, violations in found.items() for v in violations if v["impact"] in FAILING_IMPACTS]
    others = [f"{name}: {v['impact']} {v['id']}" for name, violations in found.items() for v in violations
              if v["impact"] not in FAILING_IMPACTS]
    assert not failing, "\n".join([*failing, f"(not failing: {'; '.join(others) or 'none'})"])
    # The same data: the evidence page's summary fits, and its charts are titled (issue 29's bar).
    _evidence_fits_and_titles_every_chart(page, live_server, data.unlearning_job_id)


def _evidence_fits_and_titles_every_chart(page: Page, server: LiveServer, job_id: str) -> None:
    """On a 1280-wide screen a passing run's evidence is at most 2,500 px tall above its folded details (it was
    9,294 px), and each chart, once unfolded, carries a visible title."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server.url + f"/officer/jobs/{job_id}")
    page.locator("[data-summary-detail]").first.wait_for()
    height = page.evaluate("document.documentElement.scrollHeight")
    screenshot(page, "evidence-summary")
    assert height <= 2500, height
    for fold in page.locator("details.fold > summary").all():
        if fold.is_visible():
            fold.click()
    charts = page.locator("figure[data-chart]")
    assert charts.count() >= 1
    for index in range(charts.count()):
        caption = charts.nth(index).locator("figcaption")
        assert caption.is_visible() and caption.inner_text().strip(), index
