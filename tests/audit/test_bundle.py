"""Evidence bundles: a whole request (discovery + unlearning) exported, checked offline, and every edit caught.
Helpers in bundle_helpers.py: real ``ProbeReport`` objects quoting the subject, redacted by the engine's code.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.bundle import build_bundle, dumps
from app.audit.bundle_checks import bundle_digest, evidence_text, verify_bundle
from app.jobs import service as jobs_service
from app.requests import review
from app.requests import service as request_service
from app.requests.schemas import RequestCreate
from app.targets import service as target_service
from tests.audit.bundle_helpers import (
    EMAIL,
    NAME,
    OFFICER,
    PHONE,
    SECRETS,
    model_dir,
    probe_report,
    unlearning_evidence,
)
from workers.engine.evidence import redact_report, sha256_dir, sha256_text


def finish_unlearning(session: Session, job_id: str, root: Path, evidence: dict[str, Any], text: str,
                      result_dir: Path) -> None:
    out = root / "job-out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence.json").write_text(text, encoding="utf-8")
    jobs_service.complete_unlearning(session=session, job_id=job_id, passed=True, evidence=evidence,
                                     evidence_sha256=sha256_text(text), output_dir=str(out),
                                     model_dir=str(result_dir), weights_sha256=sha256_dir(result_dir), reasons=[])


@pytest.fixture
def erased(session: Session, tmp_path: Path) -> Iterator[str]:
    """One request taken through the whole flow: filed, approved, discovered, unlearned (verified, completed)."""
    base_dir = model_dir(tmp_path / "base", b"base weights")
    model = target_service.add_model(session=session, name="support-bot", path=base_dir, actor=OFFICER)
    data = RequestCreate(full_name=NAME, email=EMAIL, phone=PHONE, details="Lives on Wobble Street",
                         target_model="the support bot")
    request = request_service.create_request(session=session, data=data, channel="api", verified=True,
                                             actor="apikey:test").request
    # Another person's request in between: its entries are part of the chain segment.
    request_service.create_request(session=session, data=RequestCreate(full_name="Other Person",
                                                                       email="other@example.org"), channel="web")
    review.approve(session=session, request_id=request.id, actor=OFFICER, ground="consent_withdrawn",
                   note=f"Verified {NAME} by phone")
    discovery = jobs_service.start_discovery(session=session, request_id=request.id, actor=OFFICER)
    jobs_service.claim(session=session, job_id=discovery.id, worker="celery@test")
    before = probe_report(model.current.weights_sha256, leaking=True)
    jobs_service.complete_discovery(session=session, job_id=discovery.id,
                                    reports={request.id: (before.to_dict(), redact_report(before))})
    job = jobs_service.start_unlearning(session=session, request_ids=[request.id], actor=OFFICER, method="fpga",
                                        attributes={request.id: ["email", "phone"]}, params={"max_steps": 40})
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    result_dir = model_dir(tmp_path / "result", b"unlearned weights")
    evidence = unlearning_evidence(before, probe_report(model.current.weights_sha256, leaking=False),
                                   model.current.weights_sha256, sha256_dir(result_dir))
    finish_unlearning(session, job.id, tmp_path, evidence, evidence_text(evidence), result_dir)
    session.flush()
    yield request.id


def test_a_completed_request_exports_a_bundle_that_verifies(session: Session, erased: str) -> None:
    bundle = build_bundle(session=session, request_id=erased)
    result = verify_bundle(bundle)
    assert result.ok, result.problems
    assert bundle["request"]["status"] == "completed"
    assert [(j["kind"], j["status"]) for j in bundle["jobs"]] == [("discovery", "succeeded"),
                                                                  ("unlearning", "succeeded")]
    assert [v["number"] for v in bundle["models"][0]["versions"]] == [1, 2]
    assert "evidence_text" not in bundle["jobs"][1]  # reproduced exactly from the parsed evidence
    # The segment runs from the request's first entry to the head and includes the other request's entries.
    entries = bundle["audit"]["entries"]
    assert entries[0]["event"] == "erasure.received" and entries[0]["request_id"] == erased
    assert any(e["request_id"] not in (erased, None) for e in entries)
    head = audit_service.verify_chain(session=session)
    assert head.ok and (result.head_seq, result.head_hash) == (head.checked, head.head_hash)
    # It survives the file format, and a correct anchor holds.
    reread = json.loads(dumps(bundle))
    assert verify_bundle(reread, anchor=(head.checked, head.head_hash)).ok
    assert not verify_bundle(reread, anchor=(head.checked, "0" * 64)).ok
    # The reference works as well as the id.
    assert build_bundle(session=session, request_id=bundle["request"]["reference"])["request"]["id"] == erased


def test_a_bundle_holds_no_personal_data(session: Session, erased: str) -> None:
    text = dumps(build_bundle(session=session, request_id=erased))
    for secret in SECRETS:
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text  # nor in JSON-escaped form
    assert "the support bot" not in text  # the free text the subject typed


def _leaves(node: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    if value is None:
        return "x"
    return ["x"]  # an empty list or dict


def _set(bundle: dict[str, Any], path: tuple, value: Any) -> None:
    node = bundle
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _get(bundle: dict[str, Any], path: tuple) -> Any:
    node = bundle
    for key in path:
        node = node[key]
    return node


def test_changing_any_field_is_caught(session: Session, erased: str) -> None:
    bundle = json.loads(dumps(build_bundle(session=session, request_id=erased)))
    paths = list(_leaves(bundle))
    assert len(paths) > 150
    for path in paths:
        tampered = copy.deepcopy(bundle)
        _set(tampered, path, _changed(_get(bundle, path)))
        assert not verify_bundle(tampered).ok, f"an edit of {path} went unnoticed"


# Fields the audit chain commits to: edited *and* the digest recomputed (as a forger would), still caught.
COMMITTED = [
    (("request", "status"), "approved", "request.status"),
    (("request", "reference"), "R-FORGED", "request.reference"),
    (("request", "decision_ground"), "objection", "request.decision_ground"),
    (("request", "due_at"), "2099-01-01T00:00:00+00:00", "request.due_at"),
    (("request", "extended"), True, "request.extended"),
    (("jobs", 0, "report_sha256"), "0" * 64, "report_sha256"),
    (("jobs", 0, "report_redacted", "confirmed_rate"), 0.0, "does not hash to its report_sha256"),
    (("jobs", 0, "report_redacted", "findings", 0, "verdict"), "none", "does not hash to its report_sha256"),
    (("jobs", 0, "status"), "failed", "status"),
    (("jobs", 0, "kind"), "unlearning", "job"),
    (("jobs", 1, "evidence", "verdict", "passed"), False, "does not hash to its evidence_sha256"),
    (("jobs", 1, "evidence", "training", "loss_history", 2), 0.5, "does not hash to its evidence_sha256"),
    (("jobs", 1, "evidence_sha256"), "f" * 64, "evidence_sha256"),
    (("jobs", 1, "method"), "ga", "method"),
    (("jobs", 1, "result_version"), 1, "result_version"),
    (("jobs", 1, "base_version"), 2, "version"),
    (("jobs", 1, "attributes"), ["email", "iban"], "attributes"),
    (("models", 0, "versions", 0, "weights_sha256"), "a" * 64, "weights"),
    (("models", 0, "versions", 1, "weights_sha256"), "b" * 64, "weights"),
    (("audit", "head", "entry_hash"), "c" * 64, "head"),
]


@pytest.mark.parametrize(("path", "value", "named"), COMMITTED, ids=[".".join(map(str, c[0])) for c in COMMITTED])
def test_committed_fields_are_caught_even_with_a_recomputed_digest(session: Session, erased: str, path: tuple,
                                                                   value: Any, named: str) -> None:
    bundle = json.loads(dumps(build_bundle(session=session, request_id=erased)))
    assert _get(bundle, path) != value
    _set(bundle, path, value)
    bundle["digest"] = bundle_digest(bundle)
    result = verify_bundle(bundle)
    assert not result.ok and named in result.problems[0], result.problems


def _forged(bundle: dict[str, Any], change) -> list[str]:
    change(bundle)
    bundle["digest"] = bundle_digest(bundle)
    return verify_bundle(bundle).problems


def test_edited_deleted_or_reordered_entries_and_dropped_jobs_are_caught(session: Session, erased: str) -> None:
    fresh = lambda: json.loads(dumps(build_bundle(session=session, request_id=erased)))  # noqa: E731
    entries = fresh()["audit"]["entries"]
    middle = len(entries) // 2

    def edit(b):
        b["audit"]["entries"][middle]["actor"] = "officer:someone-else"

    def delete(b):
        del b["audit"]["entries"][middle]

    def swap(b):
        e = b["audit"]["entries"]
        e[middle], e[middle + 1] = e[middle + 1], e[middle]

    def drop_job(b):
        del b["jobs"][1]

    def rehash_evidence(b):  # consistent evidence and digest, but not what the chain committed to
        job = b["jobs"][1]
        job["evidence"]["verdict"]["passed"] = False
        job["evidence_sha256"] = sha256_text(evidence_text(job["evidence"]))

    assert f"entry {entries[middle]['seq']}: content does not match" in _forged(fresh(), edit)[0]
    assert "missing" in _forged(fresh(), delete)[0]
    assert "prev_hash" in _forged(fresh(), swap)[0] or "missing" in _forged(fresh(), swap)[0]
    assert any("not in the bundle" in p for p in _forged(fresh(), drop_job))
    assert any("evidence_sha256" in p for p in _forged(fresh(), rehash_evidence))


def test_an_evidence_file_that_does_not_re_encode_travels_verbatim(session: Session, tmp_path: Path) -> None:
    base_dir = model_dir(tmp_path / "base", b"base")
    model = target_service.add_model(session=session, name="verbatim-bot", path=base_dir, actor=OFFICER)
    request = request_service.create_request(session=session, data=RequestCreate(full_name=NAME, email=EMAIL),
                                             channel="api", verified=True, actor="apikey:test").request
    review.approve(session=session, request_id=request.id, actor=OFFICER, ground="objection")
    discovery = jobs_service.start_discovery(session=session, request_id=request.id, actor=OFFICER,
                                             model_id=model.id)
    jobs_service.claim(session=session, job_id=discovery.id, worker="celery@test")
    before = probe_report(model.current.weights_sha256, leaking=True)
    jobs_service.complete_discovery(session=session, job_id=discovery.id,
                                    reports={request.id: (before.to_dict(), redact_report(before))})
    job = jobs_service.start_unlearning(session=session, request_ids=[request.id], actor=OFFICER)
    jobs_service.claim(session=session, job_id=job.id, worker="celery@test")
    result_dir = model_dir(tmp_path / "result", b"after")
    evidence = unlearning_evidence(before, before, model.current.weights_sha256, sha256_dir(result_dir))
    # Written by another encoder (compact, unsorted): the digest cannot be re-created from the parsed dict.
    text = json.dumps(evidence)
    finish_unlearning(session, job.id, tmp_path, evidence, text, result_dir)
    session.flush()

    bundle = json.loads(dumps(build_bundle(session=session, request_id=request.id)))
    assert bundle["jobs"][1]["evidence_text"] == text
    assert verify_bundle(bundle).ok, verify_bundle(bundle).problems
    bundle["jobs"][1]["evidence_text"] = text.replace('"passed": true', '"passed": false')
    bundle["digest"] = bundle_digest(bundle)
    assert not verify_bundle(bundle).ok


def test_not_a_bundle() -> None:
    assert verify_bundle({"schema": "something/1"}).problems[0].startswith("not an rtbf evidence bundle")
    assert not verify_bundle({"schema": "rtbf.evidence-bundle/1", "audit": {}}).ok
