"""Evidence bundles: everything a regulator needs to check one erasure request offline, without personal data.

``build_bundle`` gathers, for one request:

- the request skeleton: id, reference, status, channel, dates, decision ground, extension (months, new due
  date), the registered model it concerns. Never the subject's name, email, phone, address, other identifiers,
  free text (details, notes, reasons) or the free-text model name the subject typed; those live only encrypted.
- the target model and the versions its jobs used or made (numbers, origins, weight SHA-256s; no paths).
- every job of the request: kind, method, params, status, times, attempts, this request's redacted discovery
  report with its SHA-256, and the redacted unlearning evidence with its SHA-256. Not the job's error text (it
  may quote engine messages): the audit entry that ended the job carries its SHA-256.
- the audit chain from the request's first entry to the head at export, entries in full.

Why full entries of other requests' rows in the chain segment: an entry's hash covers all of its fields, so an
entry given only as (seq, prev_hash, entry_hash) could be forged by anyone and its link proves nothing.
Audit details never hold personal data (``app.audit.chain.check_details`` only admits scalars, and the
services put hashes, ids and statuses there), so other requests contribute their ids, statuses and
commitments only. One pseudonymous value does travel: ``erasure.received`` carries ``email_hmac``, a keyed
blind index of the email that cannot be reversed without the service's key; the entry's hash needs it.

Unlearning evidence is committed to as the SHA-256 of the evidence.json *text* the engine wrote. The bundle
re-creates that text from the parsed evidence (``EVIDENCE_TEXT``); when that does not reproduce the digest
(e.g. a file written by another encoder) and the original file is still on disk, the text goes into the bundle
verbatim as ``evidence_text``.

``verify_bundle`` (in ``app.audit.bundle_checks``, importable without a database) recomputes all of it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.bundle_checks import (
    SCHEMA,
    BundleCheck,
    bundle_digest,
    evidence_text,
    verify_bundle,
)
from app.audit.chain import canonical_time
from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.errors import NotFound

__all__ = ["SCHEMA", "BundleCheck", "build_bundle", "dumps", "resolve_request", "verify_bundle"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def resolve_request(*, session: Session, id_or_reference: str) -> Any:
    """A request by id or by its human reference (``RTBF-...``), as officers quote either."""
    from app.requests import service as request_service

    value = (id_or_reference or "").strip()
    try:
        return request_service.get_request(session=session, request_id=value)
    except NotFound:
        return request_service.get_by_reference(session=session, reference=value)


def _request_skeleton(request: Any) -> dict[str, Any]:
    return {
        "id": request.id,
        "reference": request.reference,
        "status": request.status.value,
        "channel": request.channel,
        "received_at": _iso(request.received_at),
        "verified_at": _iso(request.verified_at),
        "due_at": _iso(request.due_at),
        "original_due_at": _iso(request.original_due_at),
        "extended": bool(request.extended),
        "extension_months": request.extension_months,
        "decision_ground": request.decision_ground,
        "decided_at": _iso(request.decided_at),
        "decided_by": request.decided_by,
        "canceled_at": _iso(request.canceled_at),
        "duplicate_of_id": request.duplicate_of_id,
        "target_model_id": request.target_model_id,
    }


def _version(version: Any) -> dict[str, Any]:
    return {"id": version.id, "model_id": version.target_model_id, "number": version.number,
            "parent_id": version.parent_id, "origin": version.origin, "weights_sha256": version.weights_sha256,
            "created_at": _iso(version.created_at)}


def _evidence_fields(job: Any) -> dict[str, Any]:
    if job.evidence is None:
        return {"evidence": None, "evidence_sha256": job.evidence_sha256}
    fields: dict[str, Any] = {"evidence": job.evidence, "evidence_sha256": job.evidence_sha256}
    if hashlib.sha256(evidence_text(job.evidence).encode()).hexdigest() != job.evidence_sha256 and job.output_dir:
        original = Path(job.output_dir) / "evidence.json"
        if original.is_file():
            fields["evidence_text"] = original.read_text(encoding="utf-8")
    return fields


def _job(job: Any, request_id: str) -> dict[str, Any]:
    link = next(link for link in job.requests if link.request_id == request_id)
    entry: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        "method": job.method,
        "params": dict(job.params or {}),
        "model_id": job.target_model_id,
        "base_version": job.base_version.number,
        "result_version": job.result_version.number if job.result_version else None,
        "attempts": job.attempts,
        "created_by": job.created_by,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "cancel_requested_at": _iso(job.cancel_requested_at),
        # The batch this request was part of (other requests appear by id only).
        "request_ids": job.request_ids,
        "attributes": list(link.attributes) if link.attributes is not None else None,
        "report_redacted": link.report_redacted,
        "report_sha256": link.report_sha256,
    }
    if job.kind.value == "unlearning":
        entry.update(_evidence_fields(job))
    return entry


def _models(jobs: list[Any], request: Any, session: Session) -> list[dict[str, Any]]:
    from app.targets import service as target_service

    versions: dict[str, Any] = {}
    for job in jobs:
        for version in (job.base_version, job.result_version):
            if version is not None:
                versions[version.id] = version
    model_ids = {job.target_model_id for job in jobs} | ({request.target_model_id} if request.target_model_id else set())
    out = []
    for model_id in sorted(model_ids):
        model = target_service.get_model(session=session, model_id=model_id)
        versions.setdefault(model.current.id, model.current)
        out.append({"id": model.id, "name": model.name, "current_version": model.current_number,
                    "versions": [_version(v) for v in sorted(versions.values(), key=lambda v: v.number)
                                 if v.target_model_id == model.id]})
    return out


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "request_id": entry.request_id, "event": entry.event, "actor": entry.actor,
            "details": entry.details, "created_at": canonical_time(entry.created_at), "prev_hash": entry.prev_hash,
            "entry_hash": entry.entry_hash}


def _chain_segment(session: Session, request_id: str) -> list[AuditEntry]:
    first = session.scalar(select(AuditEntry.seq).where(AuditEntry.request_id == request_id)
                           .order_by(AuditEntry.seq).limit(1))
    if first is None:
        return []
    return list(session.scalars(select(AuditEntry).where(AuditEntry.seq >= first).order_by(AuditEntry.seq)))


def build_bundle(*, session: Session, request_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The evidence bundle of one request (id or reference). Read-only: nothing is written or audited."""
    from app.jobs import service as jobs_service

    request = resolve_request(session=session, id_or_reference=request_id)
    jobs = sorted(jobs_service.jobs_for_request(session=session, request_id=request.id),
                  key=lambda job: (job.created_at, job.id))
    entries = _chain_segment(session, request.id)
    bundle: dict[str, Any] = {
        "schema": SCHEMA,
        "exported_at": (now or utcnow()).isoformat(),
        "request": _request_skeleton(request),
        "models": _models(jobs, request, session),
        "jobs": [_job(job, request.id) for job in jobs],
        "audit": {
            "request_seqs": [e.seq for e in entries if e.request_id == request.id],
            "entries": [_entry(e) for e in entries],
            "head": {"seq": entries[-1].seq, "entry_hash": entries[-1].entry_hash} if entries else None,
        },
    }
    bundle["digest"] = bundle_digest(bundle)
    return bundle


def dumps(bundle: dict[str, Any]) -> str:
    """The bundle as a file: readable JSON; NaN allowed because evidence metrics may hold it."""
    return json.dumps(bundle, indent=2, sort_keys=True, allow_nan=True, ensure_ascii=False) + "\n"
