"""The request page's model and discovery section, job panels (live progress, cancel), evidence and batches.

Jobs are driven through the jobs service's worker-side calls (claim, record_progress, complete_*) with reports
and evidence in the engine's shapes, so the pages are tested against the state a real worker leaves behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from page_helpers import csrf_token, evidence, fake_model_dir, finding, flashes, probe_report, reload
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.jobs import service as jobs_service
from app.jobs.models import Job, JobRequest, JobStatus
from app.notifications.models import OutboxMessage
from app.requests import review
from app.requests.models import ErasureRequest
from app.requests.statuses import RequestStatus
from app.targets import service as target_service
from app.targets.models import TargetModel

RequestFactory = Callable[..., ErasureRequest]
SECRET_EMAIL = "grace.hopper@navy.example"
SECRET_ADDRESS = "12 Harbour Lane, Arlington"


@pytest.fixture
def model(session: Session, tmp_path: Path) -> TargetModel:
    registered = target_service.add_model(session=session, name="demo-assistant", path=fake_model_dir(tmp_path / "v1"),
                                          actor="officer:setup")
    session.commit()
    return registered


def _approve(session: Session, req: ErasureRequest) -> ErasureRequest:
    review.approve(session=session, request_id=req.id, actor="officer:setup", ground="consent_withdrawn")
    session.commit()
    return req


def _findings(name: str = "Grace Hopper") -> list[dict[str, Any]]:
    """Email confirmed (direct 2/2, question 1/2, paraphrase 0/2), phone never, an address as a candidate."""
    return [
        finding("email", "direct", "confirmed", prompt=f"The email address of {name} is",
                completion=f" {SECRET_EMAIL}."),
        finding("email", "direct", "confirmed", prompt=f"{name}, email:", completion=f" {SECRET_EMAIL}",
                decoding="sampled"),
        finding("email", "question", "confirmed", prompt=f"Q: What is the email address of {name}? A:",
                completion=f" {SECRET_EMAIL}"),
        finding("email", "question", "none", prompt=f"Q: What is {name}'s email? A:", completion=" I don't know."),
        finding("email", "paraphrase", "none", prompt=f"{name}'s email address is", completion=" private."),
        finding("email", "paraphrase", "none", prompt=f"For {name}, the email on record is", completion=" unknown."),
        finding("phone", "direct", "none", prompt=f"The phone number of {name} is", completion=" not listed."),
        finding("phone", "question", "none", prompt=f"Q: What is {name}'s phone number? A:", completion=" n/a"),
        finding("address", "direct", "candidate", prompt=f"The home address of {name} is",
                completion=f" {SECRET_ADDRESS}."),
        finding("address", "direct", "none", prompt=f"{name}, home address:", completion=" somewhere."),
    ]


def _discover(session: Session, req: ErasureRequest, findings: list[dict[str, Any]] | None = None,
              membership_mean: float | None = 0.42) -> Job:
    job = jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    assert jobs_service.claim(session=session, job_id=job.id, worker="celery@test") is job
    full, redacted = probe_report(job.base_version.weights_sha256, _findings() if findings is None else findings,
                                  submitted=["email", "phone"], membership_mean=membership_mean)
    jobs_service.complete_discovery(session=session, job_id=job.id, reports={req.id: (full, redacted)})
    session.commit()
    return job


def _post(client: TestClient, page: str, action: str, data: dict[str, Any] | None = None) -> tuple[str, list[str]]:
    """Post a form with ``page``'s CSRF token; return the redirect target and the flashes shown there."""
    token = csrf_token(client.get(page).text)
    response = client.post(action, data={"csrf_token": token, **(data or {})})
    assert response.status_code == 303, response.text
    target = response.headers["location"]
    return target, flashes(client.get(target).text)


def _page(client: TestClient, req: ErasureRequest) -> str:
    response = client.get(f"/officer/requests/{req.id}")
    assert response.status_code == 200
    return response.text


def test_discovery_runs_before_the_decision_on_the_preselected_model(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = make_request()
    page = _page(officer_client, req)
    assert "Run discovery" in page and "to inform the decision" in page
    assert re.search(rf'<option value="{model.id}" selected>demo-assistant \(version 1\)</option>', page)

    target, shown = _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/discover",
                          {"model_id": model.id})
    assert target == f"/officer/requests/{req.id}" and shown[0].startswith("Discovery started.")
    job = session.scalars(select(Job).join(JobRequest).where(JobRequest.request_id == req.id)).one()
    assert job.status == JobStatus.queued and job.target_model_id == model.id
    assert reload(session, req).status == RequestStatus.pending_review  # discovery informs; it decides nothing

    page = _page(officer_client, req)
    assert "Waiting for a worker" in page and f'hx-get="/officer/jobs/{job.id}/panel?back=request"' in page
    assert 'hx-trigger="every 2s"' in page and f'action="/officer/jobs/{job.id}/cancel"' in page
    assert 'action="/officer/requests/' + req.id + '/discover"' not in page  # one job at a time


def test_discovery_is_not_offered_on_a_denied_request_nor_without_a_model(
    officer_client: TestClient, session: Session, make_request: RequestFactory, tmp_path: Path
) -> None:
    req = make_request()
    assert "Register the model" in _page(officer_client, req)  # nothing registered yet
    review.deny(session=session, request_id=req.id, actor="officer:setup", ground="excessive", reason="Repeated.")
    session.commit()
    target_service.add_model(session=session, name="other", path=fake_model_dir(tmp_path / "m"), actor="officer:x")
    session.commit()
    page = _page(officer_client, req)
    assert "/discover" not in page and "Register the model" not in page


def test_findings_are_shown_in_plain_language_with_examples_and_candidates(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    page = _page(officer_client, req)
    email = page[page.index('data-attribute="email"'):page.index('data-attribute="phone"')]
    assert "Email address" in email and "Revealed" in email
    assert "Reproduced in <strong>50%</strong> of 6 answers" in email
    assert "Direct statements" in email and "100% of 2" in email and "Direct questions" in email
    assert "Reworded questions" not in email  # a kind of question that got nothing out is not listed
    assert f"<q>The email address of Grace Hopper is</q> &rarr; <q>{SECRET_EMAIL}.</q>" in email
    phone = page[page.index('data-attribute="phone"'):page.index('data-candidate="address"')]
    assert "Not revealed" in phone and "Never reproduced in 2 answers" in phone
    candidate = page[page.index('data-candidate="address"'):]
    assert "Postal address" in candidate and "in 50% of 2 answers" in candidate and SECRET_ADDRESS in candidate
    assert 'name="include" value="address"' in page
    assert "Membership score:</strong>\n      0.42" in page
    # The method choice explains each method, the recommended one preselected.
    assert '<option value="fpga" selected>fpga (recommended)</option>' in page
    assert "Plain gradient ascent (baseline)" in page and 'name="max_steps"' in page


def _grid(page: str) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """(column headings, attribute -> [(tone, text)] per cell, the last one all kinds) of the findings grid."""
    table = page[page.index('<table class="leak-grid"'):page.index("</table>", page.index('<table class="leak-grid"'))]
    head = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', table)
    rows = {}
    for key, cells in re.findall(r'<tr data-grid-attribute="([a-z_]+)">(.*?)</tr>', table, flags=re.S):
        rows[key] = [(tone, re.sub(r"<[^>]+>", "", text).strip())
                     for tone, text in re.findall(r'<td class="leak leak-([a-z]+)">(.*?)</td>', cells, flags=re.S)]
    return head, rows


def test_findings_open_with_a_grid_of_leak_rates_by_detail_and_kind_of_question(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    page = _page(officer_client, req)
    assert page.index('data-leak-grid') < page.index('<article class="finding"')  # the glance first, details below
    head, rows = _grid(page)
    # "All kinds" first: on a narrow card the overall figure is never the column scrolled out of sight.
    assert head == ["Detail", "All kinds", "Direct statements", "Direct questions", "Reworded questions"]
    assert rows["email"] == [("high", "50% of 6"), ("high", "100% of 2"), ("high", "50% of 2"), ("none", "0% of 2")]
    # Phone was never asked with reworded questions: an empty cell, not 0%.
    assert rows["phone"] == [("none", "0% of 2"), ("none", "0% of 1"), ("none", "0% of 1"), ("empty", "not asked")]
    assert set(rows) == {"email", "phone"}  # the address candidate is listed with the details, not in the grid
    key = page[page.index('<ul class="leak-key'):page.index("</ul>", page.index('<ul class="leak-key'))]
    assert "0%: never reproduced" in key and "below 25%: sometimes" in key and "25% or more: often" in key
    assert "empty: not asked that way" in key


def test_the_grid_tells_a_rare_leak_from_none_and_orders_kinds_as_the_details_do(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    found = [finding("email", "direct", "confirmed" if i == 0 else "none", prompt=f"p{i}", completion=f"c{i}")
             for i in range(5)]
    found += [finding("email", "question", "confirmed", prompt="q", completion=f" {SECRET_EMAIL}")]
    found += [finding("phone", "inverse", "none", prompt=f"+44 {i}", completion=" nobody") for i in range(2)]
    found += [finding("email", "open", "none", prompt="Grace Hopper", completion=" was a computer scientist.")]
    _discover(session, req, found)
    head, rows = _grid(_page(officer_client, req))
    assert head == ["Detail", "All kinds", "Direct statements", "Direct questions", "Reverse look-up",
                    "The name alone"]
    assert rows["email"] == [("high", "29% of 7"), ("low", "20% of 5"), ("high", "100% of 1"), ("empty", "not asked"),
                             ("none", "0% of 1")]
    assert rows["phone"] == [("none", "0% of 2"), ("empty", "not asked"), ("empty", "not asked"), ("none", "0% of 2"),
                             ("empty", "not asked")]


def test_included_candidate_method_and_settings_reach_the_unlearning_job(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    _, shown = _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/unlearn",
                     {"method": "npo", "include": "address", "max_steps": "20", "lr": "", "seed": "3"})
    assert shown[0].startswith("Unlearning started.")
    job = session.scalars(select(Job).where(Job.kind == "unlearning")).one()
    assert job.method == "npo" and job.params == {"max_steps": 20, "seed": 3, "attacks": ["quantize", "multiquery"], "gating_attacks": ["quantize", "multiquery"]}
    assert job.requests[0].attributes == ["address", "email"]
    assert reload(session, req).status == RequestStatus.unlearning


def test_unlearning_without_a_candidate_removes_the_confirmed_leaks(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/unlearn", {"method": "fpga"})
    job = session.scalars(select(Job).where(Job.kind == "unlearning")).one()
    assert job.requests[0].attributes == ["email"]
    assert job.params == {"attacks": ["quantize", "multiquery"], "gating_attacks": ["quantize", "multiquery"]}  # the default attack checks


def test_bad_settings_are_refused_and_change_nothing(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    for data, message in (({"lr": "5"}, "lr must be between"), ({"method": "magic"}, "Unknown method"),
                          ({"include": "iban"}, "Discovery did not find")):
        _, shown = _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/unlearn", data)
        assert shown[0].startswith("Nothing was changed:") and message in shown[0]
    assert session.scalars(select(Job).where(Job.kind == "unlearning")).first() is None
    assert reload(session, req).status == RequestStatus.approved


def test_panel_shows_progress_and_polls_only_while_the_job_is_active(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    job = jobs_service.start_unlearning(session=session, request_ids=[req.id], actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@gpu-1")
    jobs_service.record_progress(session=session, job_id=job.id, progress={
        "stage": "unlearn", "step": 12, "total": 150, "message": "training", "loss": -0.1234, "leak_rate": 0.25,
        "metrics": {"loss": -0.1234, "leak_rate": 0.25}})
    session.commit()

    response = officer_client.get(f"/officer/jobs/{job.id}/panel", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Refresh" not in response.headers
    text = response.text
    assert not text.lstrip().startswith("<!doctype")  # a fragment, not a page
    assert '<progress value="12" max="150">' in text and "step 12 of 150" in text
    assert "<strong>25%</strong>" in text and "-0.1234" in text and "Unlearning (training steps)" in text
    assert "celery@gpu-1" in text and 'hx-trigger="every 2s"' in text and "Refresh" in text

    jobs_service.fail(session=session, job_id=job.id, error="The worker ran out of memory.")
    session.commit()
    response = officer_client.get(f"/officer/jobs/{job.id}/panel", headers={"HX-Request": "true"})
    assert "hx-trigger" not in response.text and "Failed" in response.text
    assert "The worker ran out of memory." in response.text
    assert response.headers["HX-Refresh"] == "true"  # the poll saw the end: reload the whole page once
    assert "HX-Refresh" not in officer_client.get(f"/officer/jobs/{job.id}/panel").headers
    page = _page(officer_client, req)
    assert "hx-trigger" not in page and "Processing failed" in page


def test_panel_polling_does_not_eat_the_next_pages_flash(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = make_request()
    token = csrf_token(_page(officer_client, req))
    officer_client.post(f"/officer/requests/{req.id}/discover", data={"csrf_token": token, "model_id": model.id})
    job = session.scalars(select(Job)).one()
    officer_client.get(f"/officer/jobs/{job.id}/panel", headers={"HX-Request": "true"})
    assert flashes(_page(officer_client, req))[0].startswith("Discovery started.")


def test_cancel_a_queued_job_from_the_request_page(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    job = jobs_service.start_unlearning(session=session, request_ids=[req.id], actor="officer:setup")
    session.commit()
    target, shown = _post(officer_client, f"/officer/requests/{req.id}", f"/officer/jobs/{job.id}/cancel",
                          {"back": "request"})
    assert target == f"/officer/requests/{req.id}" and shown[0].startswith("Cancel requested.")
    session.expire_all()
    assert session.get(Job, job.id).status == JobStatus.canceled
    assert reload(session, req).status == RequestStatus.approved
    # Cancelling again is refused with the reason, not an error page.
    _, shown = _post(officer_client, f"/officer/jobs/{job.id}", f"/officer/jobs/{job.id}/cancel", {"back": "job"})
    assert shown == ["Nothing was changed: The job is already canceled."]


def test_cancel_a_running_job_asks_the_worker_to_stop(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = make_request()
    job = jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    session.commit()
    target, _ = _post(officer_client, f"/officer/jobs/{job.id}", f"/officer/jobs/{job.id}/cancel", {"back": "job"})
    assert target == f"/officer/jobs/{job.id}"
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored.status == JobStatus.running and stored.cancel_requested_at is not None
    text = officer_client.get(f"/officer/jobs/{job.id}/panel").text
    assert "the worker stops at its next progress report" in text and "/cancel" not in text


def _unlearned(session: Session, req: ErasureRequest, tmp_path: Path, *, passed: bool = True,
               earlier: list[dict] | None = None) -> Job:
    from workers.engine.evidence import write_evidence

    _discover(session, req)
    job = jobs_service.start_unlearning(session=session, request_ids=[req.id], actor="officer:setup")
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    result_dir = fake_model_dir(tmp_path / f"v2-{job.id}", b"weights-v2")
    proof = evidence(base_sha256=job.base_version.weights_sha256, result_sha256="be" * 32, passed=passed)
    if earlier is not None:
        proof["earlier_erasures"] = earlier
    # Written and hashed the way the engine writes evidence.json, so the bundle's checks re-derive the digest.
    digest = write_evidence(tmp_path / f"evidence-{job.id}.json", proof)
    jobs_service.complete_unlearning(
        session=session, job_id=job.id, passed=passed, evidence=proof, evidence_sha256=digest,
        output_dir=str(tmp_path), model_dir=str(result_dir), weights_sha256="be" * 32,
        reasons=[] if passed else ["2 confirmed leak(s) on held-out families"])
    session.commit()
    return job


def test_job_page_shows_the_evidence_before_and_after(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    req = _approve(session, make_request())
    job = _unlearned(session, req, tmp_path)
    assert reload(session, req).status == RequestStatus.completed
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    assert "Verdict: the removal is verified" in text and "no confirmed leak and utility within bounds" in text
    # The page opens with a summary: the deciding figure once, the reasons in words, one row per detail, and the
    # utility rule in the same terms as its figure (96% of 98% is 98% kept, against the 95% rule).
    head = text[:text.index('data-fold="families"')]
    assert "No removed detail came back, and the model kept what it knows about other people." in head
    assert re.search(r"data-deciding>After unlearning,\s*<strong>0 of \d+</strong> test answers", head)
    row = head[head.index("data-summary-detail"):]
    assert re.search(r"Email address</th><td>44%</td><td>0%</td>\s*<td><span class=\"badge ok\">removed", row)
    assert re.search(r"keeps\s*<strong>98%</strong> of what it knew \(it must keep at least\s*95%\)", head)
    assert "no confirmed leak and utility within bounds" in text[text.index("data-reasons-recorded"):]
    table = text[text.index('data-attribute="email"'):text.index("</tbody>", text.index('data-attribute="email"'))]
    assert re.search(r"Email address \(all questions\)</th><td></td>\s*<td data-before>44%</td><td data-after>0%</td>",
                     table)
    direct = table[table.index('data-family="direct"'):table.index('data-family="question"')]
    assert "trained on" in direct and "<td>75%</td><td>0%</td>" in direct
    inverse = table[table.index('data-family="inverse"'):]
    assert "held out" in inverse and "<td>25%</td><td>0%</td>" in inverse
    assert "<td>98%</td><td>96%<br>" in text and "-2.0 points" in text  # others' accuracy
    # ... and how far off an estimate from that many facts can be
    assert "95% interval 90%–98% (100 facts)" in text
    assert "<td>5.000</td>" in text and "<td>5.100</td>" in text and "+2.0%" in text  # perplexity
    assert "fpga" in text and "kl=8.0" in text and "torch 7, probe 7" in text and "35 steps" in text
    assert f'title="{job.base_version.weights_sha256}"' in text and f'title="{"be" * 32}"' in text
    assert "demo-assistant v2" in text and job.evidence_sha256 in text and "Unlearning 12.2 s" in text
    assert "Grace Hopper" not in text  # the evidence and the job page hold no personal data
    # The same figures as a chart, server-rendered, whose description says them in words.
    chart = text[text.index('data-chart="email"'):text.index("</svg>", text.index('data-chart="email"'))]
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in chart
    assert 'aria-labelledby="evidence-chart-0-email-title evidence-chart-0-email-desc"' in chart
    assert '<title id="evidence-chart-0-email-title">Email address: before and after unlearning</title>' in chart
    desc = chart[chart.index("<desc"):chart.index("</desc>")]
    assert "All kinds of question: 44% before, 0% after." in desc
    assert "Direct statements (trained on): 75% before, 0% after." in desc
    assert "Reverse look-up (held out): 25% before, 0% after." in desc
    assert text.index('data-chart="email"') < text.index('<table class="evidence-table">')
    assert "demo-assistant v2</a> is now in use" in text
    # Headings go down one level at a time: the panel is an h2 after the job's h1, an h3 in the request's h2.
    assert f'<h2 id="job-panel-title-{job.id}">' in text
    assert f'<h3 id="job-panel-title-{job.id}">' in _page(officer_client, req)
    target_service.restore_previous(session=session, model_id=model.id, actor="officer:setup", reason="v2 faulty")
    session.commit()
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    assert "demo-assistant v2</a> was put in use; it is no longer the current version" in text


@pytest.mark.parametrize(("leaks", "shown"), [((0, 0), "all still forgotten"), ((0, 3), "1 revealed again")])
def test_job_page_says_whether_earlier_erasures_stayed_forgotten(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path,
    leaks: tuple[int, int], shown: str,
) -> None:
    req = _approve(session, make_request())
    earlier = [{"index": i, "attributes": ["email", "iban"], "confirmed_leaks": n, "families": ["inverse"] if n else [],
                "findings": 90} for i, n in enumerate(leaks)]
    job = _unlearned(session, req, tmp_path, earlier=earlier)
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    assert 'data-earlier="2"' in text and "2 people this model was made to forget before" in text and shown in text


def test_a_failed_verification_shows_its_reasons_and_allows_a_retry(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    req = _approve(session, make_request())
    job = _unlearned(session, req, tmp_path, passed=False)
    text = officer_client.get(f"/officer/jobs/{job.id}").text
    assert "the removal could not be verified" in text and "inverse/greedy=2" in text and "still leaks" in text
    page = _page(officer_client, req)
    assert "Verification failed" in page and "Start unlearning" in page  # failed -> retry with findings kept
    assert f'href="/officer/jobs/{job.id}"' in page
    # The way forward, on the job's page and the request's: the other method first, with what it costs.
    for html in (text, page):
        steps = html[html.index("data-next-steps"):]
        assert "What to try next" in steps and "Try the other method" in steps and "s a person" in steps


def test_job_history_lists_every_job_of_the_request(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    req = _approve(session, make_request())
    job = _unlearned(session, req, tmp_path)
    page = _page(officer_client, req)
    rows = re.findall(r'<tr data-job="([^"]+)">', page)
    assert len(rows) == 2 and rows[0] == job.id
    assert "See the before/after evidence" in page


def test_close_when_discovery_found_nothing(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    _discover(session, req, findings=[f for f in _findings() if f["verdict"] == "none"])
    page = _page(officer_client, req)
    assert "The model revealed none of the details the subject gave us." in page
    _, shown = _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/close")
    if hasattr(jobs_service, "close_without_findings"):
        assert "Close: nothing to remove" in page
        assert shown[0].startswith("Request closed")
        assert reload(session, req).status == RequestStatus.completed
        kinds = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == req.id)).all()
        assert "completed" in kinds
    else:  # the page guards the service function the lead adds
        assert "Close: nothing to remove" not in page
        assert shown == ["Closing a request without unlearning is not available in this version."]
        assert reload(session, req).status == RequestStatus.approved


def test_bundle_download_is_an_attachment_that_verifies_offline(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    from app.audit.bundle_checks import verify_bundle

    req = _approve(session, make_request())
    job = _unlearned(session, req, tmp_path)
    assert f'href="/officer/requests/{req.id}/bundle.json"' in officer_client.get(f"/officer/jobs/{job.id}").text
    response = officer_client.get(f"/officer/requests/{req.id}/bundle.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == f'attachment; filename="rtbf-evidence-{req.reference}.json"'
    assert "Grace Hopper" not in response.text and SECRET_EMAIL not in response.text
    check = verify_bundle(json.loads(response.text))
    assert check.ok, check.problems
    assert officer_client.get("/officer/requests/00000000-0000-0000-0000-000000000000/bundle.json").status_code == 404


def test_batch_starts_one_job_for_the_ticked_requests(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    first, second, third = (_approve(session, make_request()) for _ in range(3))
    for req in (first, second):
        _discover(session, req)
    page = officer_client.get("/officer/batch").text
    assert f'value="{first.id}"' in page and f'value="{second.id}"' in page
    assert f'value="{third.id}"' not in page  # no findings yet
    target, shown = _post(officer_client, "/officer/batch", "/officer/batch",
                          {"request_id": [first.id, second.id], "method": "relearn"})
    job = session.scalars(select(Job).where(Job.kind == "unlearning")).one()
    assert target == f"/officer/jobs/{job.id}" and shown == ["Unlearning started for 2 requests in one job."]
    assert sorted(job.request_ids) == sorted([first.id, second.id]) and job.method == "relearn"
    page = officer_client.get(f"/officer/jobs/{job.id}").text
    assert first.reference in page and second.reference in page
    assert f'value="{first.id}"' not in officer_client.get("/officer/batch").text  # now busy


def test_batch_with_nothing_ticked_is_refused(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    _discover(session, _approve(session, make_request()))
    target, shown = _post(officer_client, "/officer/batch", "/officer/batch", {"method": "fpga"})
    assert target == "/officer/batch" and shown == ["Nothing was changed: Choose at least one request."]


def test_job_pages_need_a_signed_in_officer_and_csrf(
    client: TestClient, officer_client: TestClient, session: Session, make_request: RequestFactory,
    model: TargetModel
) -> None:
    req = make_request()
    job = jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    session.commit()
    for url in (f"/officer/jobs/{job.id}", f"/officer/jobs/{job.id}/panel", "/officer/batch"):
        response = officer_client.get(url)
        assert response.status_code == 200
    for action in (f"/officer/jobs/{job.id}/cancel", f"/officer/requests/{req.id}/discover",
                   f"/officer/requests/{req.id}/unlearn", f"/officer/requests/{req.id}/close", "/officer/batch"):
        response = officer_client.post(action, data={"back": "job"})
        assert response.status_code == 403 and "csrf_failed" in response.text
    assert officer_client.get("/officer/jobs/00000000-0000-0000-0000-000000000000").status_code == 404
    officer_client.cookies.clear()
    for url in (f"/officer/jobs/{job.id}", f"/officer/jobs/{job.id}/panel", "/officer/batch",
                f"/officer/requests/{req.id}/bundle.json"):
        response = officer_client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/officer/login?next=")
    # A live panel's poll after the session ended sends the whole window to sign-in (not into the panel),
    # coming back to the page the panel was on; a foreign page in the header is ignored.
    page = f"http://testserver/officer/requests/{req.id}"
    polled = officer_client.get(f"/officer/jobs/{job.id}/panel",
                                headers={"HX-Request": "true", "HX-Current-URL": page})
    assert polled.status_code == 200 and polled.headers["HX-Redirect"] == (
        "/officer/login?next=%2Fofficer%2Frequests%2F" + req.id)
    foreign = officer_client.get(f"/officer/jobs/{job.id}/panel",
                                 headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"})
    assert foreign.headers["HX-Redirect"] == f"/officer/login?next=%2Fofficer%2Fjobs%2F{job.id}%2Fpanel"


def test_personal_data_reaches_officer_pages_only(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel,
    capfd: pytest.CaptureFixture[str]
) -> None:
    req = _approve(session, make_request())
    _discover(session, req)
    page = _page(officer_client, req)
    assert "Grace Hopper" in page and SECRET_EMAIL in page  # the officer sees the subject and the examples
    _, shown = _post(officer_client, f"/officer/requests/{req.id}", f"/officer/requests/{req.id}/unlearn",
                     {"include": "address"})
    job = session.scalars(select(Job).where(Job.kind == "unlearning")).one()
    officer_client.get(f"/officer/jobs/{job.id}")
    officer_client.get(f"/officer/jobs/{job.id}/panel", headers={"HX-Request": "true"})
    captured = capfd.readouterr()
    logs = captured.out + captured.err
    for secret in ("Grace Hopper", SECRET_EMAIL, SECRET_ADDRESS):
        assert secret not in logs
    details = " ".join(str(e.details) for e in session.scalars(select(AuditEntry)))
    for secret in ("Grace Hopper", SECRET_EMAIL, SECRET_ADDRESS):
        assert secret not in details
    # Flashes travel in the session cookie (signed, not encrypted): product wording only.
    assert shown[0].startswith("Unlearning started.") and not any(s in shown[0] for s in ("Grace", SECRET_EMAIL))


def test_a_failed_request_stays_ready_when_another_erasure_makes_a_new_version(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel, tmp_path: Path
) -> None:
    failed = _approve(session, make_request())
    _discover(session, failed)
    _unlearned(session, failed, tmp_path, passed=False)
    other = _approve(session, make_request())
    _discover(session, other)
    _unlearned(session, other, tmp_path)
    assert reload(session, failed).status == RequestStatus.failed and model.current_number == 2
    page = _page(officer_client, failed)
    assert "Start unlearning" in page  # its findings on v1 carry over to v2, which still holds its data
    note = page[page.index("data-findings-reused"):]
    assert "v2" in note[:200] and "another person's erasure" in note[:400]


def test_an_approved_request_running_discovery_offers_no_second_approval(
    officer_client: TestClient, session: Session, make_request: RequestFactory, model: TargetModel
) -> None:
    req = _approve(session, make_request())
    jobs_service.start_discovery(session=session, request_id=req.id, actor="officer:setup")
    session.commit()
    assert reload(session, req).status == RequestStatus.discovering
    page = _page(officer_client, req)
    assert "Approve erasure" not in page and 'action="/officer/requests/' + req.id + '/approve"' not in page
