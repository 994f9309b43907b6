"""Restoring a model version reopens the completed requests whose erasure it undoes, against real PostgreSQL.

Requests go through the real services (filed, approved, discovery and unlearning recorded as the worker records
them), with reports and evidence in the engine's own shapes (``tests/audit/bundle_helpers.py``), so the evidence
bundle of a reopened request is the one ``rtbf audit export`` would write.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.bundle import build_bundle
from app.audit.bundle_checks import bundle_digest, evidence_text, verify_bundle
from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.errors import Conflict, IllegalTransition
from app.jobs import service as jobs_service
from app.jobs.models import Job, JobRequest
from app.notifications.models import OutboxMessage
from app.requests import review
from app.requests import service as request_service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from app.targets import service as target_service
from app.targets.models import TargetModel
from tests.audit.bundle_helpers import model_dir, probe_report, unlearning_evidence
from workers.engine.evidence import redact_report, sha256_dir, sha256_text

OFFICER = "officer:restore-test"
NAMES = ("Ottilie Brandauer", "Casimir Vondrak")


@pytest.fixture
def model(session: Session, tmp_path: Path) -> TargetModel:
    return target_service.add_model(session=session, name="support-bot", path=model_dir(tmp_path / "v1", b"v1"),
                                    actor=OFFICER)


def _file(session: Session, name: str, *, received_days_ago: int = 0) -> ErasureRequest:
    data = RequestCreate(full_name=name, email=f"{name.split()[0].lower()}@example.org")
    request = request_service.create_request(session=session, data=data, channel="api", verified=True,
                                             actor="apikey:test",
                                             now=utcnow() - timedelta(days=received_days_ago)).request
    review.approve(session=session, request_id=request.id, actor=OFFICER, ground="consent_withdrawn")
    return request


def _discover(session: Session, request: ErasureRequest) -> None:
    job = jobs_service.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    report = probe_report(job.base_version.weights_sha256, leaking=True)
    jobs_service.complete_discovery(session=session, job_id=job.id,
                                    reports={request.id: (report.to_dict(), redact_report(report))})


def _unlearn(session: Session, request: ErasureRequest, tmp_path: Path) -> Job:
    """A verified unlearning from the model's current version: a new version serves ``request``."""
    job = jobs_service.start_unlearning(session=session, request_ids=[request.id], actor=OFFICER, method="fpga",
                                       attributes={request.id: ["email"]})
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    base_sha = job.base_version.weights_sha256
    result_dir = model_dir(tmp_path / f"result-{job.id}", f"unlearned by {job.id}".encode())
    evidence = unlearning_evidence(probe_report(base_sha, leaking=True), probe_report(base_sha, leaking=False),
                                   base_sha, sha256_dir(result_dir))
    text = evidence_text(evidence)
    out = tmp_path / f"out-{job.id}"
    out.mkdir()
    (out / "evidence.json").write_text(text, encoding="utf-8")
    jobs_service.complete_unlearning(session=session, job_id=job.id, passed=True, evidence=evidence,
                                     evidence_sha256=sha256_text(text), output_dir=str(out),
                                     model_dir=str(result_dir), weights_sha256=sha256_dir(result_dir), reasons=[])
    assert request.status == RequestStatus.completed
    return job


def _erase(session: Session, request: ErasureRequest, tmp_path: Path) -> Job:
    _discover(session, request)
    return _unlearn(session, request, tmp_path)


def _entries(session: Session, event: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.event == event).order_by(AuditEntry.seq)))


def _emails(session: Session, request: ErasureRequest, kind: str) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.request_id == request.id, OutboxMessage.kind == kind)) or 0


def test_restore_reopens_only_the_requests_whose_erasure_it_undoes(session: Session, model: TargetModel,
                                                                    tmp_path: Path) -> None:
    first, second = _file(session, NAMES[0]), _file(session, NAMES[1])
    _erase(session, first, tmp_path)   # v2 (from v1) carries first's erasure
    _erase(session, second, tmp_path)  # v3 (from v2) carries second's
    v1, v2, v3 = model.versions
    due = (second.due_at, second.original_due_at)
    sent = {kind: _emails(session, second, kind) for kind in ("approved", "completed")}
    assert target_service.undone_by_restore(session=session, model=model) == [second.id]

    restored = target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER,
                                               reason=f"{NAMES[1]} complained about answers")
    assert (restored.version, restored.retired, restored.reopened) == (v2, v3, [second])
    # v2 descends from nothing that lost first's erasure: first stays completed; second is to be done again.
    assert first.status == RequestStatus.completed and second.status == RequestStatus.approved
    assert (second.due_at, second.original_due_at) == due  # Art. 12(3): the clock runs from receipt
    assert {kind: _emails(session, second, kind) for kind in sent} == sent  # no email at reopening
    (reopened,) = _entries(session, "request.reopened")
    assert reopened.request_id == second.id and reopened.actor == OFFICER
    assert reopened.details == {"from": "completed", "to": "approved", "reason": "model version restored",
                                "model_id": model.id, "retired_version": 3, "retired_version_id": v3.id,
                                "restored_version": 2, "restored_version_id": v2.id}
    assert [e.request_id for e in _entries(session, "model.erasure_reverted")] == [second.id]
    (restore_entry,) = _entries(session, "model.version_restored")
    assert restore_entry.details["reopened_request_ids"] == [second.id]

    # One step further back undoes first's erasure too; second, already reopened, is not touched again.
    restored = target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="again")
    assert (restored.version, restored.reopened) == (v1, [first])
    assert first.status == RequestStatus.approved and second.status == RequestStatus.approved
    assert [e.request_id for e in _entries(session, "request.reopened")] == [second.id, first.id]

    assert audit_service.verify_chain(session=session).ok
    logged = json.dumps([[e.event, e.actor, e.details] for e in session.scalars(select(AuditEntry))], default=str)
    for personal in (*NAMES, *(n.split()[0] for n in NAMES), "complained"):
        assert personal not in logged


def test_a_version_the_restored_one_descends_from_keeps_its_erasures(session: Session, model: TargetModel,
                                                                      tmp_path: Path) -> None:
    """A request served by the retired version and by one the restored version is made from stays completed."""
    request = _file(session, NAMES[0])
    _erase(session, request, tmp_path)  # v2
    v1, v2 = model.versions
    other = _file(session, NAMES[1])
    later = _erase(session, other, tmp_path)  # v3 from v2
    v3 = model.current
    # The request is listed on v3's job too, as if it had been served again there: no flow makes that today
    # (a completed request cannot join a job), but the rule must not depend on it.
    session.add(JobRequest(job_id=later.id, request_id=request.id, position=1, attributes=["email"]))
    session.flush()
    assert jobs_service.requests_served_by(session=session, version_id=v3.id) == [other.id, request.id]

    assert target_service.erasures_undone(session=session, model=model, retired=v3, restored=v2) == [other.id]
    restored = target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="r")
    assert restored.reopened == [other] and request.status == RequestStatus.completed
    assert [e.request_id for e in _entries(session, "model.erasure_reverted")] == [other.id]
    # Retiring v2 as well leaves no version that carries the request's erasure: now it reopens.
    assert target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER,
                                           reason="r").reopened == [request]
    assert v1 is model.current


def test_a_reopened_request_is_carried_out_again_and_its_bundle_verifies(session: Session, model: TargetModel,
                                                                          tmp_path: Path) -> None:
    request = _file(session, NAMES[0])
    _erase(session, request, tmp_path)
    assert _emails(session, request, "completed") == 1
    target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="regression")
    assert request.status == RequestStatus.approved

    # Offline, the bundle proves the new status from the request.reopened entry; a bundle claiming it is still
    # completed (digest recomputed) is caught.
    bundle = build_bundle(session=session, request_id=request.id)
    check = verify_bundle(bundle)
    assert check.ok, check.problems
    assert bundle["request"]["status"] == "approved"
    assert [v["number"] for v in bundle["models"][0]["versions"]] == [1, 2]
    bundle["request"]["status"] = "completed"
    bundle["digest"] = bundle_digest(bundle)
    assert any("request.status" in p for p in verify_bundle(bundle).problems)

    # The officer runs the erasure again on the restored version: discovery, then unlearning.
    discovery = jobs_service.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    assert request.status == RequestStatus.discovering and discovery.base_version is model.current
    jobs_service.cancel(session=session, job_id=discovery.id, actor=OFFICER)
    assert request.status == RequestStatus.approved
    job = _erase(session, request, tmp_path)
    assert job.result_version.number == 3 and job.result_version.parent.number == 1
    assert request.status == RequestStatus.completed
    assert _emails(session, request, "completed") == 2  # the subject hears that it is done, again

    events = [e.event for e in audit_service.entries_for_request(session=session, request_id=request.id)]
    reopened_at = events.index("request.reopened")
    assert events.index("model.erasure_reverted") < reopened_at < len(events) - 1 - events[::-1].index(
        "erasure.completed")
    assert audit_service.verify_chain(session=session).ok
    bundle = build_bundle(session=session, request_id=request.id)
    check = verify_bundle(bundle)
    assert check.ok, check.problems
    assert bundle["request"]["status"] == "completed"
    assert [(j["kind"], j["status"]) for j in bundle["jobs"]].count(("unlearning", "succeeded")) == 2


def test_the_reopening_entry_is_checked_against_the_bundled_versions(session: Session, model: TargetModel,
                                                                      tmp_path: Path) -> None:
    request = _file(session, NAMES[0])
    _erase(session, request, tmp_path)
    target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="regression")
    bundle = build_bundle(session=session, request_id=request.id)
    version_2 = next(v for v in bundle["models"][0]["versions"] if v["number"] == 2)
    version_2["id"] = "00000000-0000-0000-0000-000000000000"
    bundle["digest"] = bundle_digest(bundle)
    assert any("reopening: version 2 id" in p for p in verify_bundle(bundle).problems)


def test_a_reopened_request_past_its_due_date_is_overdue(session: Session, model: TargetModel,
                                                          tmp_path: Path) -> None:
    request = _file(session, NAMES[0], received_days_ago=45)
    _erase(session, request, tmp_path)
    assert not request.is_overdue()  # completed: the deadline no longer runs
    target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="regression")
    assert request.is_overdue() and request.days_left() < 0
    overdue, _ = request_service.list_requests(session=session, overdue=True)
    assert request in overdue


def test_only_a_completed_request_can_be_reopened(session: Session, model: TargetModel) -> None:
    request = _file(session, NAMES[0])
    with pytest.raises(IllegalTransition, match="cannot be reopened"):
        request_service.reopen(session=session, request=request, actor=OFFICER, reason="model version restored")
    assert request.status == RequestStatus.approved and not _entries(session, "request.reopened")


def test_restore_waits_for_a_running_unlearning(session: Session, model: TargetModel, tmp_path: Path) -> None:
    """Its result would be made from the retired version and become current, undoing the restore."""
    first, second = _file(session, NAMES[0]), _file(session, NAMES[1])
    _erase(session, first, tmp_path)  # v2
    _discover(session, second)
    job = jobs_service.start_unlearning(session=session, request_ids=[second.id], actor=OFFICER)
    with pytest.raises(Conflict, match="unlearning job on support-bot is queued or running") as caught:
        target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="regression")
    assert caught.value.details == {"job_id": job.id}
    assert model.current_number == 2 and first.status == RequestStatus.completed
    jobs_service.cancel(session=session, job_id=job.id, actor=OFFICER)
    assert target_service.restore_previous(session=session, model_id=model.id, actor=OFFICER,
                                           reason="regression").reopened == [first]
