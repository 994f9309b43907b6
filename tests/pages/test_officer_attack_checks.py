"""Attack checks (issue 11) on the officer's side: the setting of which attacks run and gate, audited, used by the
next job and passed on by the worker to the engine; and the evidence page's table and chart of the attacks beside
the plain verification."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from page_helpers import csrf_token, evidence, fake_model_dir, finding, flashes, probe_report
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.jobs import service as jobs_service
from app.jobs.models import Job, JobKind
from app.officers.models import Officer
from app.requests import review
from app.requests.models import ErasureRequest
from app.targets import service as target_service
from app.targets.models import TargetModel

RequestFactory = Callable[..., ErasureRequest]
SETTINGS = "/officer/settings"


@pytest.fixture
def model(session: Session, tmp_path: Path) -> TargetModel:
    registered = target_service.add_model(session=session, name="demo-assistant", path=fake_model_dir(tmp_path / "v1"),
                                          actor="officer:setup")
    session.commit()
    return registered


def _ready(session: Session, req: ErasureRequest) -> ErasureRequest:
    """Approved, with a discovery on the current version that confirmed the email."""
    review.approve(session=session, request_id=req.id, actor="officer:setup", ground="consent_withdrawn")
    job = jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    report = probe_report(job.base_version.weights_sha256, [
        finding("email", "direct", "confirmed", prompt="The email address of Grace Hopper is",
                completion=" grace@navy.example."),
        finding("email", "question", "none", prompt="Q: What is Grace Hopper's email? A:", completion=" unknown")],
        submitted=["email", "phone"])
    jobs_service.complete_discovery(session=session, job_id=job.id, reports={req.id: report})
    session.commit()
    return req


def _post(client: TestClient, page: str, action: str, data: dict[str, str]) -> list[str]:
    response = client.post(action, data={"csrf_token": csrf_token(client.get(page).text), **data})
    assert response.status_code == 303, response.text
    return flashes(client.get(response.headers["location"]).text)


def _checked(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="attack_(\w+)" value="(\w+)" checked', html))


def _setting_entries(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.event == "settings.attack_checks_changed")
                                .order_by(AuditEntry.seq)))


def test_the_settings_page_is_linked_and_starts_from_the_default(officer_client: TestClient) -> None:
    assert 'href="/officer/settings">Settings</a>' in officer_client.get("/officer").text
    page = officer_client.get(SETTINGS)
    assert page.status_code == 200
    assert _checked(page.text) == {"quantize": "gate", "relearn": "off", "multiquery": "gate", "multihop": "off"}
    officer_client.cookies.clear()
    assert officer_client.get(SETTINGS).headers["location"].startswith("/officer/login")


def test_a_changed_setting_is_audited_and_used_by_the_next_job_and_its_worker(
    officer_client: TestClient, officer: Officer, session: Session, make_request: RequestFactory, model: TargetModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown = _post(officer_client, SETTINGS, "/officer/settings/attacks",
                  {"attack_quantize": "gate", "attack_relearn": "report", "attack_multiquery": "off",
                   "attack_multihop": "gate"})
    assert shown == ["Attack checks saved; the next unlearning job runs: Quantisation (gates), Relearning (reported), "
                     "Indirect questions (gates). The change is in the audit log."]
    assert _checked(officer_client.get(SETTINGS).text) == {
        "quantize": "gate", "relearn": "report", "multiquery": "off", "multihop": "gate"}
    [entry] = _setting_entries(session)
    assert entry.actor == f"officer:{officer.id}" and entry.request_id is None
    assert entry.details == {"attacks": ["quantize", "relearn", "multihop"], "gating_attacks": ["quantize", "multihop"],
                             "previous_attacks": ["quantize", "multiquery"],
                             "previous_gating_attacks": ["quantize", "multiquery"]}  # names only, no personal data
    # Saving the same choice again changes nothing and writes no entry; a made-up mode is refused.
    assert _post(officer_client, SETTINGS, "/officer/settings/attacks",
                 {"attack_quantize": "gate", "attack_relearn": "report", "attack_multihop": "gate"})[0].startswith(
        "Nothing was changed: the attack checks were already set")
    refused = _post(officer_client, SETTINGS, "/officer/settings/attacks", {"attack_quantize": "sometimes"})
    assert refused[0].startswith("Nothing was changed: Choose off, report only or gate for quantize")
    assert len(_setting_entries(session)) == 1

    # The next job started from the request page records the setting in its params and its audit entry.
    req = _ready(session, make_request())
    page = " ".join(officer_client.get(f"/officer/requests/{req.id}").text.split())
    assert ("Attack checks after the verification: Quantisation (gates the verdict), Relearning (reported only), "
            "Indirect questions (gates the verdict)") in page
    assert _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/unlearn",
                 {"method": "fpga"})[0].startswith("Unlearning started.")
    job = session.scalars(select(Job).where(Job.kind == JobKind.unlearning)).one()
    assert job.params == {"attacks": ["quantize", "relearn", "multihop"], "gating_attacks": ["quantize", "multihop"]}
    queued = session.scalars(select(AuditEntry).where(AuditEntry.event == "job.unlearning.queued")).one()
    assert queued.details["attacks"] == ["quantize", "relearn", "multihop"]
    assert queued.details["gating_attacks"] == ["quantize", "multihop"]

    # The worker passes them to the engine's UnlearnConfig (the engine itself is stopped before it loads anything).
    import workers.engine.unlearning as unlearning
    from workers.tasks import engine_jobs

    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake_run(loaded: Any, subjects: Any, *, config: Any, **kwargs: Any) -> Any:
        config.validate()  # the engine accepts the names
        seen["config"] = config
        raise Stop

    monkeypatch.setattr(engine_jobs, "_load", lambda plan: object())
    monkeypatch.setattr(unlearning, "run_unlearning", fake_run)
    plan = engine_jobs._plan(session, jobs_service.get_job(session=session, job_id=job.id))
    with pytest.raises(Stop):
        engine_jobs._unlearn(plan, reporter=None)  # type: ignore[arg-type]
    assert seen["config"].attacks == ("quantize", "relearn", "multihop")
    assert seen["config"].gating_attacks == ("quantize", "multihop")


def test_all_attacks_off_runs_none(officer_client: TestClient, session: Session, make_request: RequestFactory,
                                   model: TargetModel) -> None:
    assert _post(officer_client, SETTINGS, "/officer/settings/attacks", {})[0] == (
        "Attack checks saved; the next unlearning job runs: none. The change is in the audit log.")
    req = _ready(session, make_request())
    job = jobs_service.start_unlearning(session=session, request_ids=[req.id], actor="officer:setup")
    assert job.params == {"attacks": [], "gating_attacks": []}


# ---- the evidence page ----------------------------------------------------------------------------------------


def _outcome(variant: str, asked: int, leaks: int, worst: float, leaked: list[str]) -> dict[str, Any]:
    """One entry of ``Outcome.to_dict()`` (workers/engine/attacks/base.py)."""
    return {"variant": variant, "asked": asked, "leaks": leaks, "leak_rate": round(leaks / asked, 4) if asked else 0.0,
            "max_family_rate": worst, "leaked_attributes": leaked,
            "families": {"direct": {"asked": asked, "leaks": leaks, "rate": worst}}}


ATTACKS = {
    "quantize": {"summary": "re-probed quantised to int8 and to 4 bits (round-to-nearest)", "gating": True,
                 "passed": False, "max_family_rate": 0.5, "seconds": 3.25,
                 "subjects": [{"index": 0, "outcomes": [_outcome("int8", 8, 0, 0.0, []),
                                                        _outcome("int4", 8, 2, 0.5, ["email"])]}]},
    "relearn": {"summary": "re-probed after a few LoRA steps", "gating": False, "passed": False,
                "max_family_rate": 0.25, "seconds": 9.5,
                "subjects": [{"index": 0, "outcomes": [_outcome("unrelated", 4, 1, 0.25, ["email"])]}]},
    "multiquery": {"summary": "every discovered prompt sampled many times", "gating": True, "passed": True,
                   "max_family_rate": 0.0, "seconds": 1.0,
                   "subjects": [{"index": 0, "outcomes": [_outcome("sampled", 40, 0, 0.0, [])]}]},
}


def _unlearned(session: Session, req: ErasureRequest, tmp_path: Path, attacks: dict[str, Any] | None,
               exact: dict[str, Any] | None = None) -> Job:
    from workers.engine.evidence import write_evidence

    _ready(session, req)
    job = jobs_service.start_unlearning(session=session, request_ids=[req.id], actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    # The plain verification passes (no answer leaks after unlearning); the attacks decide the verdict.
    proof = evidence(base_sha256=job.base_version.weights_sha256, result_sha256="be" * 32, passed=True)
    reasons = []
    if exact is not None:
        for subject in proof.get("subjects") or []:
            subject["exact_leak"] = exact
    if attacks is not None:
        proof["attacks"] = attacks
        reasons = ["attack quantize: 50.0% of answers in a prompt family leak a forgotten detail (bar 2%)"]
        proof["verdict"] = {"passed": False, "reasons": reasons, "leaks": {}}
    digest = write_evidence(tmp_path / f"evidence-{job.id}.json", proof)
    jobs_service.complete_unlearning(
        session=session, job_id=job.id, passed=attacks is None, evidence=proof, evidence_sha256=digest,
        output_dir=str(tmp_path), model_dir=str(fake_model_dir(tmp_path / f"v2-{job.id}", b"weights-v2")),
        weights_sha256="be" * 32, reasons=reasons)
    session.commit()
    return job


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def test_the_evidence_page_sets_the_attacks_beside_the_plain_verification(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    # The plain verification passed (0 of 16 answers leak after unlearning); a gating attack got the email back.
    job = _unlearned(session, make_request(), tmp_path, ATTACKS)
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    assert "the removal could not be verified" in text and "attack quantize: 50.0% of answers" in text
    table = text[text.index('<table class="attacks-table">'):text.index("</table>", text.index("attacks-table"))]
    rows = {tuple(re.findall(r'data-attack="(\w+)"(?: data-variant="(\w+)")?', row)[0]): _cells(row)
            for row in re.findall(r"<tr data-attack.*?</tr>", table, re.S)}
    assert rows[("plain", "")] == ["Plain verification", "held-out and trained-on questions", "16", "0 (0%)", "0%",
                                   "gates", "passed"]
    quantize = rows[("quantize", "int8")]
    assert quantize[0].startswith("Quantisation") and "(3.2 s)" in quantize[0]
    assert quantize[1:] == ["8-bit", "8", "0 (0%)", "0%", "gates", "failed"]
    assert rows[("quantize", "int4")] == ["4-bit", "8", "2 (25%)Email address", "50%"]  # spanned cells once
    assert rows[("relearn", "unrelated")][1:] == ["unrelated text", "4", "1 (25%)Email address", "25%", "reported",
                                                   "failed"]
    assert rows[("multiquery", "sampled")][1:] == ["sampled", "40", "0 (0%)", "0%", "gates", "passed"]
    assert 'rowspan="2"' in table  # quantize's two variants share its name, decision and verdict
    # The same figures as a chart: plain verification against each attack, said in words too.
    chart = text[text.index('data-chart="attacks"'):text.index("</svg>", text.index('data-chart="attacks"'))]
    assert 'aria-labelledby="evidence-attacks-chart-title evidence-attacks-chart-desc"' in chart
    svg = ET.fromstring(chart[chart.index("<svg"):] + "</svg>")  # well-formed; one plain and one attacked bar each
    assert [r.get("class") for r in svg.iter("{http://www.w3.org/2000/svg}rect")][2:] == ["before", "after"] * 4
    assert ">Plain verification</text>" in chart and ">Under attack</text>" in chart
    desc = chart[chart.index("<desc"):chart.index("</desc>")]
    assert "Quantisation \u00b7 4-bit (gates the verdict): 0% plain, 25% attacked." in desc
    assert "Relearning (reported only): 0% plain, 25% attacked." in desc
    assert "Many samples (gates the verdict): 0% plain, 0% attacked." in desc
    assert text.index('data-chart="attacks"') < text.index('<table class="attacks-table">')
    assert "Grace Hopper" not in text and "grace@navy.example" not in text  # the evidence holds no personal data


def test_evidence_without_attack_checks_has_no_attack_section(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    job = _unlearned(session, make_request(), tmp_path, None)
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    assert "Verdict: the removal is verified" in text
    assert "attacks-table" not in text and 'data-chart="attacks"' not in text


def test_the_evidence_page_states_the_exact_check_of_each_subject(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    exact = {"draws": 20, "bound": 0.02, "pairs": 348, "above": 3, "greedy": 1, "max_leak": 0.61,
             "worst_family": "elicited-heldout", "families": {"elicited-heldout": 0.61}, "attributes": {"email": 0.61}}
    job = _unlearned(session, make_request(), tmp_path, None, exact=exact)
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    line = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text[text.index("data-exact"):text.index("</p>",
                                                                                         text.index("data-exact"))]))
    assert "20 sampled answers" in line and "348 question and detail pairs" in line and "61%" in line
    assert "3 above the 2% bar" in line
