"""The job state machine against real PostgreSQL: how jobs and the requests they serve move together."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.errors import Conflict, IllegalTransition, InvalidInput
from app.core.queues import GPU_QUEUE
from app.core.tasks import pending_tasks
from app.jobs import service as jobs
from app.jobs.models import JobKind, JobStatus
from app.notifications.models import OutboxMessage
from app.requests import service as requests
from app.requests.statuses import RequestStatus
from app.targets import service as targets
from jobs_helpers import OFFICER, fake_model_dir, probe_report


def _events(session: Session, request_id: str) -> list[str]:
    stmt = select(AuditEntry.event).where(AuditEntry.request_id == request_id).order_by(AuditEntry.seq)
    return list(session.scalars(stmt))


def _unlearning(session, request, **kwargs):
    return jobs.start_unlearning(session=session, request_ids=[request.id], actor=OFFICER, **kwargs)


# ---- discovery -------------------------------------------------------------------------------------------


def test_discovery_before_the_decision_keeps_pending_review(session, model, make_request, discovered) -> None:
    request = make_request(approved=False)
    queued = jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    assert request.status == RequestStatus.pending_review
    with pytest.raises(Conflict):  # the status does not block a second job: the active job does
        jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    jobs.cancel(session=session, job_id=queued.id, actor=OFFICER)
    assert request.status == RequestStatus.pending_review
    job = discovered(request)
    assert request.status == RequestStatus.pending_review
    assert job.status == JobStatus.succeeded and job.kind == JobKind.discovery
    assert jobs.latest_findings(session=session, request_id=request.id).confirmed == ["email"]


def test_discovery_on_an_approved_request_goes_discovering_then_back_to_approved(session, model,
                                                                                 make_request) -> None:
    request = make_request()
    job = jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    assert request.status == RequestStatus.discovering and job.status == JobStatus.queued
    assert job.base_version.number == 1 and request.target_model_id == model.id
    assert (jobs.DISCOVER_TASK, (job.id,), GPU_QUEUE) in pending_tasks(session)  # sent after commit
    with pytest.raises(IllegalTransition):  # already discovering
        jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)

    assert jobs.claim(session=session, job_id=job.id, worker="celery@gpu1", task_id="t-1") is job
    assert job.status == JobStatus.running and job.attempts == 1 and job.worker == "celery@gpu1"
    email = requests.identifiers(request).email
    full, redacted = probe_report(model, confirmed=["email"], candidates=["phone"], secret=email)
    jobs.complete_discovery(session=session, job_id=job.id, reports={request.id: (full, redacted)})

    assert job.status == JobStatus.succeeded and request.status == RequestStatus.approved
    findings = jobs.latest_findings(session=session, request_id=request.id)
    assert findings.job is job and findings.confirmed == ["email"] and findings.candidates == ["phone"]
    assert jobs.decrypt_report(findings.link)["findings"][0]["completion"] == f"It is {email}."
    assert email not in json.dumps(findings.report) and email.encode() not in findings.link.report_enc
    events = _events(session, request.id)
    for expected in ("erasure.discovering", "job.discovery.queued", "job.discovery.started",
                     "job.discovery.succeeded", "erasure.approved"):
        assert expected in events


def test_discovery_refuses_a_request_that_is_not_open(session, model, make_request) -> None:
    request = make_request(approved=False)
    from app.requests import review

    review.deny(session=session, request_id=request.id, actor=OFFICER, ground="legal_claims", reason="kept")
    with pytest.raises(IllegalTransition):
        jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)


def test_discovery_with_two_models_needs_a_choice(session, model, make_request, tmp_path) -> None:
    other = targets.add_model(session=session, name="other", path=fake_model_dir(tmp_path / "m2", b"w2"),
                              actor=OFFICER)
    request = make_request()
    with pytest.raises(InvalidInput):
        jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    named = make_request(model_name="Other")  # the form's free-text model name picks it
    assert jobs.start_discovery(session=session, request_id=named.id, actor=OFFICER).target_model is other
    job = jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER, model_id=model.id)
    assert job.target_model is model


# ---- starting unlearning ---------------------------------------------------------------------------------


def test_unlearning_needs_findings_on_the_current_version(session, model, make_request) -> None:
    request = make_request()
    with pytest.raises(Conflict, match="Run discovery"):
        _unlearning(session, request)
    assert request.status == RequestStatus.approved


def test_unlearning_refuses_attributes_discovery_did_not_find(session, model, make_request, discovered) -> None:
    request = make_request()
    discovered(request, confirmed=["email"], candidates=["phone"])
    with pytest.raises(InvalidInput, match="address"):
        _unlearning(session, request, attributes={request.id: ["email", "address"]})
    job = _unlearning(session, request, attributes={request.id: ["email", "phone"]})  # a candidate may be added
    assert job.requests[0].attributes == ["email", "phone"]
    assert job.method == "fpga"  # the product's default


def test_unlearning_refuses_a_discovery_that_found_nothing(session, model, make_request, discovered) -> None:
    request = make_request()
    discovered(request, confirmed=[], candidates=[])
    with pytest.raises(InvalidInput, match="Nothing to remove"):
        _unlearning(session, request)


@pytest.mark.parametrize(("method", "params", "message"), [
    ("bogus", {}, "Unknown method"),
    ("fpga", {"max_steps": 0}, "max_steps must be between"),
    ("fpga", {"lr": "fast"}, "lr must be a number"),
    ("fpga", {"batch_size": 4}, "Unknown setting"),
])
def test_unlearning_checks_method_and_settings(session, model, make_request, discovered, method, params,
                                               message) -> None:
    request = make_request()
    discovered(request)
    with pytest.raises(InvalidInput, match=message):
        _unlearning(session, request, method=method, params=params)
    job = _unlearning(session, request, method="npo", params={"max_steps": "5", "lr": "0.001", "seed": ""})
    # The attack checks of the officer's setting (the default) are recorded with the method's settings.
    assert job.params == {"max_steps": 5, "lr": 0.001, "attacks": ["quantize", "multiquery"], "gating_attacks": ["quantize", "multiquery"]}


def test_unlearning_refuses_requests_on_two_models(session, model, make_request, discovered, tmp_path) -> None:
    other = targets.add_model(session=session, name="other", path=fake_model_dir(tmp_path / "m2", b"w2"),
                              actor=OFFICER)
    first, second = make_request(), make_request(name="John Doe")
    discovered(first, model_id=model.id)
    discovered(second, model_id=other.id)
    with pytest.raises(InvalidInput, match="same model"):
        jobs.start_unlearning(session=session, request_ids=[first.id, second.id], actor=OFFICER)
    assert first.status == second.status == RequestStatus.approved


def test_unlearning_refuses_a_request_with_an_active_job(session, model, make_request, discovered) -> None:
    request = make_request()
    discovered(request)
    running = _unlearning(session, request)
    request.status = RequestStatus.approved  # even if the status were approved again, the job still blocks
    with pytest.raises(Conflict) as caught:
        _unlearning(session, request)
    assert caught.value.details["job_id"] == running.id


def test_one_unlearning_job_per_model_at_a_time(session, model, make_request, discovered, tmp_path) -> None:
    """A second job from the same version would ship a version without the first job's erasure."""
    first, second = make_request(), make_request(name="John Doe")
    discovered(first)
    discovered(second)
    running = _unlearning(session, first)
    with pytest.raises(Conflict, match="one new version at a time") as caught:
        _unlearning(session, second)
    assert caught.value.details["job_id"] == running.id and second.status == RequestStatus.approved
    jobs.cancel(session=session, job_id=running.id, actor=OFFICER)
    assert _unlearning(session, second).status == JobStatus.queued  # free again once the first one ended


def test_a_result_made_on_a_version_that_is_no_longer_current_is_not_put_into_service(
        session, model, make_request, discovered, tmp_path) -> None:
    first, second = make_request(), make_request(name="John Doe")
    discovered(first)
    discovered(second)
    job = _unlearning(session, first)
    _finish_unlearning(session, job, passed=True, tmp_path=tmp_path)
    assert model.current_number == 2
    discovered(second)  # on version 2
    late = _unlearning(session, second)
    # The restore refuses while an unlearning job runs, so move the version the way a race past that check would.
    model.current_number = 1
    session.flush()
    _finish_unlearning(session, late, passed=True, tmp_path=tmp_path)
    assert late.status == JobStatus.failed and "current version changed to version 1" in late.error
    assert model.current_number == 1 and len(model.versions) == 2 and late.result_version_id is None
    assert second.status == RequestStatus.failed


def test_unlearning_needs_an_approved_request(session, model, make_request, discovered) -> None:
    request = make_request(approved=False)
    discovered(request)
    with pytest.raises(IllegalTransition):
        _unlearning(session, request)


def test_a_batch_of_two_requests_is_one_job(session, model, make_request, discovered) -> None:
    first, second = make_request(), make_request(name="John Doe")
    discovered(first)
    discovered(second, confirmed=["email", "phone"], candidates=[])
    job = jobs.start_unlearning(session=session, request_ids=[first.id, second.id, first.id], actor=OFFICER)
    assert job.request_ids == [first.id, second.id]
    assert [link.attributes for link in job.requests] == [["email"], ["email", "phone"]]
    assert first.status == second.status == RequestStatus.unlearning
    assert [t for t in pending_tasks(session) if t[0] == jobs.UNLEARN_TASK] == [
        (jobs.UNLEARN_TASK, (job.id,), GPU_QUEUE)]
    assert jobs.active_job(session=session, request_id=second.id) is job
    assert {j.kind for j in jobs.jobs_for_request(session=session, request_id=first.id)} == {
        JobKind.discovery, JobKind.unlearning}


# ---- cancel ----------------------------------------------------------------------------------------------


def test_cancel_of_a_queued_job_ends_it_and_returns_the_request(session, model, make_request, discovered) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    jobs.cancel(session=session, job_id=job.id, actor=OFFICER)
    assert job.status == JobStatus.canceled and job.finished_at is not None and job.canceled_by == OFFICER
    assert request.status == RequestStatus.approved
    assert jobs.claim(session=session, job_id=job.id, worker="celery@gpu1") is None  # the late task is a no-op
    with pytest.raises(Conflict):
        jobs.cancel(session=session, job_id=job.id, actor=OFFICER)


def test_cancel_of_a_queued_discovery_returns_the_request(session, model, make_request) -> None:
    request = make_request()
    job = jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    jobs.cancel(session=session, job_id=job.id, actor=OFFICER)
    assert job.status == JobStatus.canceled and request.status == RequestStatus.approved


def test_cancel_of_a_running_job_is_a_request_the_worker_sees(session, model, make_request, discovered) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    jobs.claim(session=session, job_id=job.id, worker="celery@gpu1")
    assert jobs.record_progress(session=session, job_id=job.id, progress={"stage": "unlearn", "step": 1}) is False
    jobs.cancel(session=session, job_id=job.id, actor=OFFICER)
    assert job.status == JobStatus.running and job.cancel_requested_at is not None
    assert request.status == RequestStatus.unlearning
    assert jobs.record_progress(session=session, job_id=job.id, progress={"stage": "unlearn", "step": 2}) is True
    jobs.finish_canceled(session=session, job_id=job.id)
    assert job.status == JobStatus.canceled and request.status == RequestStatus.approved
    assert "job.unlearning.cancel_requested" in _events(session, request.id)


def test_a_redelivered_job_that_was_asked_to_stop_is_canceled_by_claim(session, model, make_request,
                                                                      discovered) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    jobs.claim(session=session, job_id=job.id, worker="celery@gpu1")
    jobs.cancel(session=session, job_id=job.id, actor=OFFICER)
    assert jobs.claim(session=session, job_id=job.id, worker="celery@gpu2") is None
    assert job.status == JobStatus.canceled and request.status == RequestStatus.approved


# ---- lost workers ----------------------------------------------------------------------------------------


def test_a_redelivered_running_job_is_retried_once_then_failed(session, model, make_request, discovered) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    assert job.max_attempts == 2
    jobs.claim(session=session, job_id=job.id, worker="celery@gpu1")
    # The worker died; the broker hands the task to another worker, which finds the job still running.
    assert jobs.claim(session=session, job_id=job.id, worker="celery@gpu2") is job
    assert job.attempts == 2 and job.worker == "celery@gpu2" and job.status == JobStatus.running
    assert "job.unlearning.retried" in _events(session, request.id)
    assert jobs.claim(session=session, job_id=job.id, worker="celery@gpu3") is None
    assert job.status == JobStatus.failed and "stopped before it finished (2 attempts)" in job.error
    assert request.status == RequestStatus.failed
    discovered_again = jobs.latest_findings(session=session, request_id=request.id)
    assert discovered_again is not None  # the officer can start again from failed
    assert _unlearning(session, request, method="relearn").status == JobStatus.queued


def test_reap_stale_fails_a_silent_job_and_returns_the_request(session, model, make_request, discovered,
                                                              settings) -> None:
    request, other = make_request(), make_request(name="John Doe")
    discovered(request)
    job = _unlearning(session, request)
    t0 = utcnow()
    jobs.claim(session=session, job_id=job.id, worker="celery@gpu1", now=t0)
    probe = jobs.start_discovery(session=session, request_id=other.id, actor=OFFICER)
    jobs.claim(session=session, job_id=probe.id, worker="celery@gpu2", now=t0)
    fresh = t0 + timedelta(seconds=settings.job_stale_after_s - 1)
    assert jobs.reap_stale(session=session, now=fresh) == []
    jobs.record_progress(session=session, job_id=probe.id, progress={"stage": "probe.generate"}, now=fresh)
    late = t0 + timedelta(seconds=settings.job_stale_after_s + 1)
    assert jobs.reap_stale(session=session, now=late) == [job.id]
    assert job.status == JobStatus.failed and "stopped reporting progress" in job.error
    assert request.status == RequestStatus.failed  # recoverable: retry from failed
    assert probe.status == JobStatus.running and other.status == RequestStatus.discovering
    # Its worker was only slow, not dead: its next progress report tells it to stop, and changes nothing.
    assert jobs.record_progress(session=session, job_id=job.id, progress={"stage": "unlearn", "step": 9}) is True
    assert job.status == JobStatus.failed and job.progress.get("step") != 9


def test_a_restarted_worker_fails_the_jobs_it_was_running(session, model, make_request) -> None:
    request = make_request()
    job = jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    jobs.claim(session=session, job_id=job.id, worker="celery@gpu1")
    assert jobs.worker_restarted(session=session, worker="celery@other") == []
    assert jobs.worker_restarted(session=session, worker="celery@gpu1") == [job.id]
    assert job.status == JobStatus.failed and "restarted" in job.error
    assert request.status == RequestStatus.approved  # a failed discovery leaves the request approved


# ---- outcome ---------------------------------------------------------------------------------------------


def _finish_unlearning(session, job, *, passed: bool, tmp_path, reasons=(), passed_requests=()):
    jobs.claim(session=session, job_id=job.id, worker="celery@gpu1")
    jobs.record_progress(session=session, job_id=job.id, progress={"stage": "verify", "step": 0})
    model_dir = fake_model_dir(tmp_path / f"out-{job.id}" / "model", b"weights-v2")
    return jobs.complete_unlearning(session=session, job_id=job.id, passed=passed, evidence={"verdict": {}},
                                    evidence_sha256="e" * 64, output_dir=str(model_dir.parent),
                                    model_dir=str(model_dir), weights_sha256="f" * 64, reasons=list(reasons),
                                    passed_requests=list(passed_requests))


def test_a_batch_where_one_person_still_leaks_completes_the_other_on_the_new_version(
        session, model, make_request, discovered, tmp_path) -> None:
    """The batch verdict is per request: the person whose own checks passed (and the model's checks held) is
    forgotten by the new version, which goes into service; the one still leaking fails and can be tried again."""
    forgotten, leaking = make_request(), make_request(name="John Doe")
    discovered(forgotten)
    discovered(leaking)
    job = jobs.start_unlearning(session=session, request_ids=[forgotten.id, leaking.id], actor=OFFICER)
    _finish_unlearning(session, job, passed=False, tmp_path=tmp_path, reasons=["subject 1: email still leaks"],
                       passed_requests=[forgotten.id])
    assert job.status == JobStatus.succeeded and "1 of 2" in job.progress["message"]
    assert "subject 1: email still leaks" in job.error
    assert model.current.number == 2 and job.result_version is model.current
    assert forgotten.status == RequestStatus.completed and leaking.status == RequestStatus.failed
    assert jobs.requests_served_by(session=session, version_id=model.current.id) == [forgotten.id]
    kinds = list(session.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == leaking.id)))
    assert "completed" not in kinds
    # The one still leaking stays ready for a new job on the new version: its findings (made on v1, which v2
    # descends from and which still holds its data) are reused; the completed one's are not.
    found = jobs.latest_findings(session=session, request_id=leaking.id)
    assert found is not None and found.reused
    assert jobs.latest_findings(session=session, request_id=forgotten.id) is None
    # The new version carries the one erasure only: a later job re-checks that person, not the one still leaking.
    third = make_request(name="Ann Bell")
    discovered(third)
    later = _unlearning(session, third)
    assert jobs.earlier_erasures(session=session, job=later) == [(forgotten, list(job.requests[0].attributes))]


def test_a_passing_unlearning_makes_version_2_and_completes_the_requests(session, model, make_request, discovered,
                                                                         tmp_path) -> None:
    first, second = make_request(), make_request(name="John Doe")
    discovered(first)
    discovered(second)
    job = jobs.start_unlearning(session=session, request_ids=[first.id, second.id], actor=OFFICER)
    _finish_unlearning(session, job, passed=True, tmp_path=tmp_path)

    assert job.status == JobStatus.succeeded and job.evidence_sha256 == "e" * 64
    v1, v2 = model.versions
    assert model.current is v2 and v2.number == 2 and v2.parent_id == v1.id and v2.origin == "unlearned"
    assert job.result_version is v2 and v2.weights_sha256 == "f" * 64
    assert jobs.requests_served_by(session=session, version_id=v2.id) == [first.id, second.id]
    for request in (first, second):
        assert request.status == RequestStatus.completed
        events = _events(session, request.id)
        assert events.index("erasure.verifying") < events.index("erasure.completed")
        kinds = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.request_id == request.id))
        assert "completed" in list(kinds)
    # The old findings were made on v1: a new unlearning would need a new discovery.
    assert jobs.latest_findings(session=session, request_id=first.id) is None


def test_a_new_job_knows_the_erasures_its_base_version_carries(session, model, make_request, discovered,
                                                                tmp_path) -> None:
    first, second, third = make_request(), make_request(name="John Doe"), make_request(name="Ann Bell")
    discovered(first, confirmed=["email", "phone"], candidates=[])
    job1 = _unlearning(session, first)
    assert jobs.earlier_erasures(session=session, job=job1) == []  # v1 carries none
    _finish_unlearning(session, job1, passed=True, tmp_path=tmp_path)
    discovered(second)
    job2 = _unlearning(session, second)
    assert jobs.earlier_erasures(session=session, job=job2) == [(first, ["email", "phone"])]
    # The worker's plan carries them decrypted, to probe the new version about that person again.
    from workers.tasks.engine_jobs import _plan

    plan = _plan(session, job2)
    assert [reference for _, _, reference in plan.earlier] == [first.reference]
    assert plan.earlier == [({"name": requests.identifiers(first).full_name, **plan.earlier[0][0]}, ["email", "phone"],
                             first.reference)]
    assert plan.earlier[0][0]["identifiers"]["email"] == requests.identifiers(first).email
    _finish_unlearning(session, job2, passed=True, tmp_path=tmp_path)
    discovered(third)
    job3 = _unlearning(session, third)  # on v3: both earlier erasures, oldest first
    assert jobs.earlier_erasures(session=session, job=job3) == [(first, ["email", "phone"]), (second, ["email"])]
    jobs.cancel(session=session, job_id=job3.id, actor=OFFICER)
    # Back on v2 (the second erasure undone and its request reopened), only the first one is carried.
    targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="regression in answers")
    assert second.status == RequestStatus.approved
    discovered(third)
    job4 = _unlearning(session, third)
    assert jobs.earlier_erasures(session=session, job=job4) == [(first, ["email", "phone"])]


def test_a_failing_verification_keeps_the_model_version(session, model, make_request, discovered,
                                                        tmp_path) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    _finish_unlearning(session, job, passed=False, tmp_path=tmp_path, reasons=["email still leaks in 2/4"])
    assert job.status == JobStatus.failed and job.error == "Verification failed: email still leaks in 2/4"
    assert job.evidence_sha256 == "e" * 64 and job.result_version_id is None
    assert model.current.number == 1 and len(model.versions) == 1
    assert request.status == RequestStatus.failed
    failed = [e for e in session.scalars(select(AuditEntry).where(AuditEntry.request_id == request.id))
              if e.event == "erasure.failed"]
    assert failed and "reason_sha256" in failed[0].details and "leaks" not in json.dumps(failed[0].details)
    (job_failed,) = [e for e in session.scalars(select(AuditEntry).where(AuditEntry.request_id == request.id))
                     if e.event == "job.unlearning.failed"]
    assert job_failed.details["evidence_sha256"] == "e" * 64 and "error_sha256" in job_failed.details


def test_jobs_that_ended_cannot_be_changed_again(session, model, make_request, discovered, tmp_path) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    _finish_unlearning(session, job, passed=True, tmp_path=tmp_path)
    jobs.fail(session=session, job_id=job.id, error="late")
    assert job.status == JobStatus.succeeded and job.error is None
    assert jobs.finish_canceled(session=session, job_id=job.id).status == JobStatus.succeeded


def test_restore_previous_goes_back_to_v1_and_audits_the_reverted_erasures(session, model, make_request,
                                                                          discovered, tmp_path) -> None:
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    _finish_unlearning(session, job, passed=True, tmp_path=tmp_path)
    restored = targets.restore_previous(session=session, model_id=model.id, actor=OFFICER,
                                        reason="regression in production answers")
    assert restored.version.number == 1 and model.current.number == 1 and len(model.versions) == 2
    reverted = session.scalars(select(AuditEntry).where(AuditEntry.event == "model.erasure_reverted")).all()
    assert [e.request_id for e in reverted] == [request.id]
    assert reverted[0].details["from_version"] == 2 and reverted[0].details["to_version"] == 1
    assert "regression" not in json.dumps(reverted[0].details)  # the reason is free text: only its hash
    with pytest.raises(Conflict):  # v1 has no parent
        targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="again")


def test_the_audit_log_of_a_whole_flow_holds_no_personal_data(session, model, make_request, discovered,
                                                              tmp_path) -> None:
    request = make_request(name="Zebulon Quartermaine")
    email = requests.identifiers(request).email
    discovered(request)
    job = _unlearning(session, request)
    _finish_unlearning(session, job, passed=True, tmp_path=tmp_path)
    targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="Zebulon asked again")
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert len(entries) > 10
    text = json.dumps([[e.event, e.actor, e.details] for e in entries], default=str)
    for personal in ("Zebulon", "Quartermaine", email, email.split("@")[0]):
        assert personal not in text


def test_a_failed_attempt_alerts_every_active_officer_without_personal_data(session, model, make_request,
                                                                             discovered, tmp_path) -> None:
    from app.core.security import decrypt
    from app.officers import service as officer_service

    officer_service.create_officer(session=session, email="kim@rtbf.example", password="a long password 1",
                                   name="Kim")
    away = officer_service.create_officer(session=session, email="lou@rtbf.example", password="a long password 2",
                                          name="Lou")
    away.active = False
    request = make_request()
    discovered(request)
    job = _unlearning(session, request)
    _finish_unlearning(session, job, passed=False, tmp_path=tmp_path, reasons=["email still leaks in 2/4"])
    alerts = [m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == request.id))
              if m.kind == "attempt_failed"]
    assert [decrypt(m.to_address) for m in alerts] == ["kim@rtbf.example"]
    body = decrypt(alerts[0].body)
    assert request.reference in alerts[0].subject and f"/officer/requests/{request.id}" in body
    who = requests.identifiers(request)
    assert who.full_name not in body and who.email not in body
