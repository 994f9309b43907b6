"""Offline verification of an evidence bundle (see ``app.audit.bundle``): pure functions, no database, no settings.

What is proven, and how:
- the chain segment: every entry's hash is recomputed from its fields and each entry's ``prev_hash`` is its
  predecessor's hash (and genesis for entry 1). An optional anchor (SEQ:HASH kept elsewhere, e.g. printed by
  ``rtbf audit verify`` on another day) ties the segment to the real log.
- the request skeleton against the entries of the request: reference and first due date (``erasure.received``),
  status (the last transition, ``request.reopened`` included: a restore that undid the erasure), decision
  ground, extension and due date (``erasure.extended``).
- each job against the entries naming it: kind, method, model, base version and weights, terminal status,
  the report and evidence digests, result version and weights, the attributes queued; each report and the
  evidence are re-hashed from the bundle's JSON and must give the committed digests.
- model versions against the jobs' entries (base and result weights), the ``model.registered`` /
  ``model.version_created`` / ``model.erasure_reverted`` / ``request.reopened`` entries in the segment, and the
  weight digests inside the evidence. A model's name is proven only when its registration falls inside the segment.
- ``digest``: SHA-256 of the rest of the bundle. It only catches accidental or careless edits to the few fields
  no entry commits to (export time, job params and timestamps): anyone can recompute it, so the proof is the
  chain and its anchor, not this digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.audit.chain import GENESIS_HASH, entry_hash

SCHEMA = "rtbf.evidence-bundle/1"
_TERMINAL = ("succeeded", "failed", "canceled")


@dataclass(frozen=True)
class BundleCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    head_seq: int | None = None
    head_hash: str | None = None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def evidence_text(evidence: dict[str, Any]) -> str:
    """The evidence.json text exactly as ``workers.engine.evidence.write_evidence`` writes it."""
    return json.dumps(evidence, indent=2, sort_keys=True, default=str, allow_nan=True) + "\n"


def report_digest(report: dict[str, Any]) -> str:
    """How ``app.jobs.service.complete_discovery`` hashes a redacted report."""
    return _sha(json.dumps(report, sort_keys=True, default=str))


def bundle_digest(bundle: dict[str, Any]) -> str:
    body = {k: v for k, v in bundle.items() if k != "digest"}
    return _sha(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str, allow_nan=True))


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Checker:
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def same(self, what: str, bundled: Any, committed: Any) -> None:
        if bundled != committed:
            self.problem(f"{what}: the bundle says {bundled!r}, the audit log {committed!r}")

    # ---- the chain --------------------------------------------------------------------------------------

    def chain(self, anchor: tuple[int, str] | None) -> list[dict[str, Any]]:
        audit = self.bundle["audit"]
        entries: list[dict[str, Any]] = audit["entries"]
        if not entries:
            self.problem("the bundle holds no audit entries")
            return entries
        previous: dict[str, Any] | None = None
        for entry in entries:
            seq = entry["seq"]
            if previous is None:
                if seq == 1 and entry["prev_hash"] != GENESIS_HASH:
                    self.problem("entry 1: prev_hash is not the genesis hash")
            elif seq != previous["seq"] + 1:
                self.problem(f"entry {previous['seq'] + 1} is missing from the segment (next is {seq})")
            elif entry["prev_hash"] != previous["entry_hash"]:
                self.problem(f"entry {seq}: prev_hash does not match entry {previous['seq']}")
            recomputed = entry_hash(seq=seq, request_id=entry["request_id"], event=entry["event"],
                                    actor=entry["actor"], details=entry["details"],
                                    created_at=_time(entry["created_at"]), prev_hash=entry["prev_hash"])
            if recomputed != entry["entry_hash"]:
                self.problem(f"entry {seq}: content does not match its hash (entry was altered)")
            previous = entry
        head = audit.get("head") or {}
        if head.get("seq") != entries[-1]["seq"] or head.get("entry_hash") != entries[-1]["entry_hash"]:
            self.problem("the head does not match the last entry of the segment")
        if anchor is not None:
            by_seq = {e["seq"]: e for e in entries}
            if anchor[0] in by_seq:
                if by_seq[anchor[0]]["entry_hash"] != anchor[1]:
                    self.problem(f"entry {anchor[0]} does not match the anchor hash")
            else:
                self.problem(f"the anchor entry {anchor[0]} is outside the bundle's segment "
                             f"({entries[0]['seq']}..{entries[-1]['seq']})")
        return entries

    # ---- the request ------------------------------------------------------------------------------------

    def request(self, mine: list[dict[str, Any]]) -> None:
        req = self.bundle["request"]
        self.same("audit.request_seqs", self.bundle["audit"]["request_seqs"], [e["seq"] for e in mine])
        if not mine or mine[0]["event"] != "erasure.received":
            self.problem("the segment does not start with the request's erasure.received entry")
            return
        received = mine[0]["details"]
        self.same("request.reference", req["reference"], received.get("reference"))
        self.same("request.original_due_at", _time(req["original_due_at"]), _time(received.get("due_at")))
        transitions = [e for e in mine if (e["event"].startswith("erasure.") or e["event"] == "request.reopened")
                       and "to" in e["details"]]
        status = transitions[-1]["details"]["to"] if transitions else "identity_unverified"
        self.same("request.status", req["status"], status)
        # The decision, not a job returning the request to approved: only the reviewer's transition has a ground.
        decisions = [e for e in transitions if e["details"]["to"] in ("approved", "denied") and "ground" in e["details"]]
        self.same("request.decision_ground", req["decision_ground"],
                  decisions[-1]["details"].get("ground") if decisions else None)
        extensions = [e for e in mine if e["event"] == "erasure.extended"]
        self.same("request.extended", req["extended"], bool(extensions))
        if extensions:
            self.same("request.extension_months", req["extension_months"], extensions[-1]["details"].get("months"))
            self.same("request.due_at", _time(req["due_at"]), _time(extensions[-1]["details"].get("due_at")))
        else:
            self.same("request.due_at", _time(req["due_at"]), _time(req["original_due_at"]))

    # ---- models and jobs --------------------------------------------------------------------------------

    def versions(self) -> dict[tuple[str, int], dict[str, Any]]:
        found: dict[tuple[str, int], dict[str, Any]] = {}
        for model in self.bundle["models"]:
            for version in model["versions"]:
                if version["model_id"] != model["id"]:
                    self.problem(f"model {model['name']}: version {version['number']} belongs to another model")
                found[(model["id"], version["number"])] = version
        return found

    def job(self, job: dict[str, Any], mine: list[dict[str, Any]],
            versions: dict[tuple[str, int], dict[str, Any]]) -> None:
        label = f"job {job['id']}"
        base = versions.get((job["model_id"], job["base_version"]))
        result = versions.get((job["model_id"], job["result_version"])) if job["result_version"] else None
        if base is None:
            self.problem(f"{label}: its base version is not in the bundle's models")
        if job["result_version"] and result is None:
            self.problem(f"{label}: its result version is not in the bundle's models")
        entries = [e for e in mine if e["details"].get("job_id") == job["id"]]
        if not any(e["event"] == f"job.{job['kind']}.queued" for e in entries):
            self.problem(f"{label}: no job.{job['kind']}.queued entry for this request")
        terminal = [e["event"].rsplit(".", 1)[1] for e in entries
                    if e["event"].startswith("job.") and e["event"].rsplit(".", 1)[1] in _TERMINAL]
        self.same(f"{label}.status (ended)", job["status"] if job["status"] in _TERMINAL else None,
                  terminal[-1] if terminal else None)
        expected = {"kind": job["kind"], "model_id": job["model_id"], "version": job["base_version"],
                    "method": job["method"], "report_sha256": job["report_sha256"],
                    "evidence_sha256": job.get("evidence_sha256"), "result_version": job["result_version"],
                    "base_weights_sha256": base and base["weights_sha256"],
                    "result_weights_sha256": result and result["weights_sha256"]}
        for entry in entries:
            if entry["event"].startswith("job.") and not entry["event"].startswith(f"job.{job['kind']}."):
                self.problem(f"{label}: entry {entry['seq']} is a {entry['event']} entry")
            for key, value in expected.items():
                if key in entry["details"]:
                    self.same(f"{label}.{key} (entry {entry['seq']})", value, entry["details"][key])
            queued = entry["details"].get("attributes")
            if entry["event"] == "job.unlearning.queued" and job["attributes"] is not None:
                if not isinstance(queued, list) or not set(job["attributes"]) <= set(queued):
                    self.problem(f"{label}.attributes: not what the queued entry commits to")
        if job["report_redacted"] is not None and report_digest(job["report_redacted"]) != job["report_sha256"]:
            self.problem(f"{label}: the discovery report does not hash to its report_sha256")
        if job["kind"] == "unlearning" and job.get("evidence") is not None:
            self.evidence(label, job, base, result)

    def evidence(self, label: str, job: dict[str, Any], base: dict[str, Any] | None,
                 result: dict[str, Any] | None) -> None:
        text = job.get("evidence_text")
        if text is not None and evidence_text(json.loads(text)) != evidence_text(job["evidence"]):
            self.problem(f"{label}: evidence_text and evidence differ")
        if _sha(text if text is not None else evidence_text(job["evidence"])) != job["evidence_sha256"]:
            self.problem(f"{label}: the evidence does not hash to its evidence_sha256")
        weights = job["evidence"].get("weights") or {}
        if base is not None:
            self.same(f"{label}: evidence base weights", weights.get("base_sha256"), base["weights_sha256"])
        if result is not None:
            self.same(f"{label}: evidence result weights", weights.get("result_sha256"), result["weights_sha256"])

    def model_entries(self, entries: list[dict[str, Any]], request_id: str,
                      versions: dict[tuple[str, int], dict[str, Any]]) -> None:
        names = {m["id"]: m["name"] for m in self.bundle["models"]}
        by_id = {v["id"]: v for v in versions.values()}
        for entry in entries:
            d = entry["details"]
            if entry["event"] in ("model.registered", "model.version_created") and entry["request_id"] is None:
                version = versions.get((d.get("model_id"), d.get("version")))
                if version is None:
                    continue
                self.same(f"model version {d['version']} weights", version["weights_sha256"], d.get("weights_sha256"))
                if entry["event"] == "model.registered":
                    self.same("model name", names[d["model_id"]], d.get("name"))
                else:
                    parent = by_id.get(version["parent_id"])
                    self.same(f"model version {d['version']} parent", parent and parent["number"],
                              d.get("parent_version"))
            elif entry["event"] == "request.reopened" and entry["request_id"] == request_id:
                for number_key, id_key in (("retired_version", "retired_version_id"),
                                           ("restored_version", "restored_version_id")):
                    version = versions.get((d.get("model_id"), d.get(number_key)))
                    if version is not None:
                        self.same(f"reopening: version {d[number_key]} id", version["id"], d.get(id_key))
            elif entry["event"] == "model.erasure_reverted" and entry["request_id"] == request_id:
                for number_key, sha_key in (("from_version", "retired_weights_sha256"),
                                            ("to_version", "restored_weights_sha256")):
                    version = versions.get((d.get("model_id"), d.get(number_key)))
                    if version is not None:
                        self.same(f"restored/retired version {d[number_key]} weights", version["weights_sha256"],
                                  d.get(sha_key))


def verify_bundle(bundle: dict[str, Any], *, anchor: tuple[int, str] | None = None) -> BundleCheck:
    """Check a bundle offline; ``problems`` lists what does not hold, most fundamental first."""
    if not isinstance(bundle, dict) or bundle.get("schema") != SCHEMA:
        found = bundle.get("schema") if isinstance(bundle, dict) else type(bundle).__name__
        return BundleCheck(False, [f"not an rtbf evidence bundle (schema {found!r}, expected {SCHEMA!r})"])
    checker = _Checker(bundle)
    try:
        entries = checker.chain(anchor)
        request_id = bundle["request"]["id"]
        mine = [e for e in entries if e["request_id"] == request_id]
        checker.request(mine)
        versions = checker.versions()
        for job in bundle["jobs"]:
            checker.job(job, mine, versions)
        bundled = {job["id"] for job in bundle["jobs"]}
        for entry in mine:
            job_id = entry["details"].get("job_id")
            if job_id is not None and job_id not in bundled:
                checker.problem(f"entry {entry['seq']} names job {job_id}, which is not in the bundle")
                bundled.add(job_id)
        checker.model_entries(entries, request_id, versions)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        checker.problem(f"malformed bundle ({type(exc).__name__}: {exc})")
        entries = bundle.get("audit", {}).get("entries", []) if isinstance(bundle.get("audit"), dict) else []
    if bundle.get("digest") != bundle_digest(bundle):
        checker.problem("the bundle's digest does not match its content (edited after export)")
    head = entries[-1] if entries and isinstance(entries[-1], dict) else {}
    return BundleCheck(not checker.problems, checker.problems, len(entries), head.get("seq"), head.get("entry_hash"))
