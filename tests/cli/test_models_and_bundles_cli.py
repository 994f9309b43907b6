"""`rtbf model add|list|versions|restore` and `rtbf audit export|verify-bundle` against a real database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.audit.models import AuditEntry
from app.jobs import service as jobs_service
from app.requests import review
from app.requests import service as request_service
from app.requests.schemas import RequestCreate
from app.targets import service as target_service
from tests.audit.bundle_helpers import probe_report, unlearning_evidence
from workers.engine.evidence import redact_report, sha256_dir, sha256_text

WIDE = {"COLUMNS": "300"}


def _session(url: str) -> Session:
    return Session(create_engine(url, poolclass=NullPool), expire_on_commit=False)


def _model_dir(path: Path, weights: bytes) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (path / "model.safetensors").write_bytes(weights)
    return path


def test_model_add_list_and_versions(cli, runner, cli_database, tmp_path) -> None:
    path = _model_dir(tmp_path / "bot", b"v1 weights")
    added = runner.invoke(cli, ["model", "add", "Support-Bot", str(path), "--description", "Help desk model"], env=WIDE)
    assert added.exit_code == 0, added.output
    assert "support-bot v1" in added.output and sha256_dir(path) in added.output
    listing = runner.invoke(cli, ["model", "list"], env=WIDE)
    assert listing.exit_code == 0 and "support-bot" in listing.output and "Help desk model" in listing.output
    versions = runner.invoke(cli, ["model", "versions", "support-bot"], env=WIDE)
    assert versions.exit_code == 0 and sha256_dir(path) in versions.output and "registered" in versions.output
    with _session(cli_database) as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.event == "model.registered")).one()
        assert entry.actor == "cli" and entry.details["name"] == "support-bot"


def test_model_errors_are_one_line_with_an_exit_code(cli, runner, cli_database, tmp_path) -> None:
    assert "No models registered" in runner.invoke(cli, ["model", "list"]).output
    missing = runner.invoke(cli, ["model", "add", "bot", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not found" in missing.output and "Traceback" not in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "config.json" in runner.invoke(cli, ["model", "add", "bot", str(empty)]).output
    assert runner.invoke(cli, ["model", "add", "Bad Name!", str(_model_dir(tmp_path / "a", b"a"))]).exit_code == 2
    assert runner.invoke(cli, ["model", "add", "bot", str(tmp_path / "a")]).exit_code == 0
    twice = runner.invoke(cli, ["model", "add", "bot", str(tmp_path / "a")])
    assert twice.exit_code == 1 and "already registered" in twice.output
    unknown = runner.invoke(cli, ["model", "versions", "ghost"])
    assert unknown.exit_code == 1 and "ghost" in unknown.output
    nothing_to_restore = runner.invoke(cli, ["model", "restore", "bot", "--reason", "rollback"])
    assert nothing_to_restore.exit_code == 1 and "no previous version" in nothing_to_restore.output


def _completed_request(url: str, tmp_path: Path) -> tuple[str, str]:
    """A request taken through discovery and a verified unlearning; returns (id, reference)."""
    with _session(url) as db:
        model = target_service.add_model(session=db, name="support-bot", path=_model_dir(tmp_path / "v1", b"one"),
                                         actor="officer:t")
        data = RequestCreate(full_name="Quentin Zarathustra", email="quentin.zarathustra@example.org")
        request = request_service.create_request(session=db, data=data, channel="api", verified=True).request
        review.approve(session=db, request_id=request.id, actor="officer:t", ground="objection")
        job = jobs_service.start_discovery(session=db, request_id=request.id, actor="officer:t")
        jobs_service.claim(session=db, job_id=job.id, worker="w")
        before = probe_report(model.current.weights_sha256, leaking=True)
        jobs_service.complete_discovery(session=db, job_id=job.id,
                                        reports={request.id: (before.to_dict(), redact_report(before))})
        job = jobs_service.start_unlearning(session=db, request_ids=[request.id], actor="officer:t")
        jobs_service.claim(session=db, job_id=job.id, worker="w")
        result = _model_dir(tmp_path / "v2", b"two")
        evidence = unlearning_evidence(before, before, model.current.weights_sha256, sha256_dir(result))
        text = json.dumps(evidence, indent=2, sort_keys=True) + "\n"
        jobs_service.complete_unlearning(session=db, job_id=job.id, passed=True, evidence=evidence,
                                         evidence_sha256=sha256_text(text), output_dir=str(tmp_path),
                                         model_dir=str(result), weights_sha256=sha256_dir(result), reasons=[])
        db.commit()
        return request.id, request.reference


def test_audit_export_and_verify_bundle(cli, runner, cli_database, tmp_path) -> None:
    request_id, reference = _completed_request(cli_database, tmp_path)
    out = tmp_path / "bundle.json"
    exported = runner.invoke(cli, ["audit", "export", reference, "--out", str(out)], env=WIDE)
    assert exported.exit_code == 0, exported.output
    assert reference in exported.output and "Quentin" not in out.read_text()
    checked = runner.invoke(cli, ["audit", "verify-bundle", str(out)], env=WIDE)
    assert checked.exit_code == 0 and checked.output.startswith("OK ")
    head = checked.output.split("head: ")[1].strip()
    assert runner.invoke(cli, ["audit", "verify-bundle", str(out), "--anchor", head]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--anchor", head]).exit_code == 0  # the same head as the live log
    # By id as well; then an edit of the evidence is named.
    assert runner.invoke(cli, ["audit", "export", request_id, "--out", str(out)]).exit_code == 0
    bundle = json.loads(out.read_text())
    bundle["jobs"][1]["evidence"]["verdict"]["passed"] = False
    out.write_text(json.dumps(bundle))
    broken = runner.invoke(cli, ["audit", "verify-bundle", str(out)], env=WIDE)
    assert broken.exit_code == 1 and "BROKEN" in broken.output and "evidence_sha256" in broken.output


def test_model_restore_audits_and_reopens_the_requests_the_version_served(cli, runner, cli_database,
                                                                         tmp_path) -> None:
    request_id, reference = _completed_request(cli_database, tmp_path)
    assert runner.invoke(cli, ["model", "restore", "support-bot"]).exit_code == 2  # --reason is required
    restored = runner.invoke(cli, ["model", "restore", "support-bot", "--reason", "regression in answers"], env=WIDE)
    assert restored.exit_code == 0, restored.output
    assert "support-bot v1 is current again" in restored.output and "1 request(s)" in restored.output
    assert f"Reopened (approved again, same due date; run discovery and unlearning again): {reference}" in (
        restored.output)
    with _session(cli_database) as db:
        assert target_service.get_by_name(session=db, name="support-bot").current_number == 1
        reverted = db.scalars(select(AuditEntry).where(AuditEntry.event == "model.erasure_reverted")).one()
        assert reverted.request_id == request_id and reverted.actor == "cli"
        reopened = db.scalars(select(AuditEntry).where(AuditEntry.event == "request.reopened")).one()
        assert reopened.request_id == request_id and reopened.details["reason"] == "model version restored"
        assert request_service.get_request(session=db, request_id=request_id).status == "approved"
    versions = runner.invoke(cli, ["model", "versions", "support-bot"], env=WIDE)
    assert "unlearned" in versions.output
    # The log still verifies, and the reopened request's bundle verifies offline with its new status.
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    out = tmp_path / "reopened.json"
    assert runner.invoke(cli, ["audit", "export", reference, "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["request"]["status"] == "approved"
    checked = runner.invoke(cli, ["audit", "verify-bundle", str(out)], env=WIDE)
    assert checked.exit_code == 0 and checked.output.startswith("OK "), checked.output
    # Restoring further back has nothing left to reopen.
    assert runner.invoke(cli, ["model", "restore", "support-bot", "--reason", "again"]).exit_code == 1


def test_export_errors(cli, runner, cli_database, tmp_path) -> None:
    unknown = runner.invoke(cli, ["audit", "export", "R-NOPE", "--out", str(tmp_path / "b.json")])
    assert unknown.exit_code == 1 and "No erasure request" in unknown.output
    assert runner.invoke(cli, ["audit", "verify-bundle", str(tmp_path / "missing.json")]).exit_code == 2
    (tmp_path / "junk.json").write_text("not json")
    assert runner.invoke(cli, ["audit", "verify-bundle", str(tmp_path / "junk.json")]).exit_code == 2
    (tmp_path / "other.json").write_text('{"schema": "x"}')
    other = runner.invoke(cli, ["audit", "verify-bundle", str(tmp_path / "other.json")])
    assert other.exit_code == 1 and "not an rtbf evidence bundle" in other.output
