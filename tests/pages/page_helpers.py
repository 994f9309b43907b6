"""Helpers shared by the page tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.main import create_app
from app.notifications import service as notification_service
from app.notifications.models import OutboxMessage
from app.requests.models import ErasureRequest

OFFICER_EMAIL = "officer@example.org"
OFFICER_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def flashes(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<div class="notice [a-z]*" role="[a-z]+">([^<]*)</div>', html)]


def counts(session: Session) -> tuple[int, int, int]:
    """(requests, outbox messages, audit entries): what a refused action must leave unchanged."""
    return (
        session.scalar(select(func.count()).select_from(ErasureRequest)) or 0,
        session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )


def sign_in(client: TestClient, *, email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD) -> None:
    token = csrf_token(client.get("/officer/login").text)
    response = client.post("/officer/login", data={"csrf_token": token, "email": email, "password": password})
    assert response.status_code == 303, response.text


def latest_code(session: Session, request_id: str) -> str:
    """The 6-digit code of the newest verification email, read from the outbox as a developer would."""
    messages = notification_service.list_outbox(session=session, limit=50, request_id=request_id)
    for message in messages:
        if message.kind == "verification_code":
            match = re.search(r"verification code is: (\d{6})\b", message.body)
            assert match, "the verification email carries no 6-digit code"
            return match.group(1)
    raise AssertionError("no verification email in the outbox")


def reload(session: Session, req: ErasureRequest) -> ErasureRequest:
    """The request as stored now (the app closes the shared session after each request, detaching objects)."""
    session.expire_all()
    stored = session.get(ErasureRequest, req.id)
    assert stored is not None
    return stored


def build_app(session: Session, settings: Settings) -> FastAPI:
    app = create_app(settings)
    # Every request of the app works in the test's transaction, which is rolled back at the end.
    app.state.session_factory = lambda: session
    return app


# ---- models, discovery and unlearning (reports and evidence in the engine's own shapes) ---------------------


def fake_model_dir(path: Path, weights: bytes = b"weights-v1") -> Path:
    """What ``add_model`` checks without loading: a config.json and weight files named *.safetensors."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "llama"}), encoding="utf-8")
    (path / "model.safetensors").write_bytes(weights)
    return path


def finding(attribute: str, family: str, verdict: str, *, prompt: str, completion: str,
            decoding: str = "greedy") -> dict[str, Any]:
    """One entry of ``ProbeReport.to_dict()["findings"]`` (workers/engine/probe/report.py, ``Finding``)."""
    return {"attribute": attribute, "family": family, "template_id": f"{family}-1", "prompt": prompt,
            "completion": completion, "decoding": decoding, "verdict": verdict,
            "matched": attribute if verdict == "confirmed" else None, "score": 1.0 if verdict != "none" else 0.0,
            "spans": [[1, 1 + len(completion.strip())]] if verdict != "none" else []}


def _rates(findings: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    # The shape of workers.engine.probe.report.compute_rates (importing it would import the probe runner: torch).
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault((f["attribute"], f["family"]), []).append(f)
    rates: dict[str, dict[str, dict[str, float]]] = {}
    for (attribute, family), group in groups.items():
        rates.setdefault(attribute, {})[family] = {
            "confirmed": round(sum(f["verdict"] == "confirmed" for f in group) / len(group), 4),
            "candidate": round(sum(f["verdict"] == "candidate" for f in group) / len(group), 4),
            "n": len(group)}
    return rates


def probe_report(weights_sha256: str, findings: list[dict[str, Any]], *, submitted: list[str],
                 membership_mean: float | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(full, redacted) as the worker stores a discovery: ``ProbeReport.to_dict()`` and ``redact_report`` of it."""
    from workers.engine.evidence import redact_report

    confirmed = [f for f in findings if f["verdict"] == "confirmed"]
    full = {
        "model_sha256": weights_sha256, "summary": "hand-made report", "submitted": submitted,
        "confirmed_rate": round(len(confirmed) / len(findings), 4) if findings else 0.0,
        "rates": _rates(findings),
        "membership": {"method": "min_k_plus_plus", "k": 0.2,
                       "scores": [] if membership_mean is None else [membership_mean], "mean": membership_mean},
        "config": {"attributes": ["email", "phone", "address"], "families": ["direct", "question", "paraphrase"],
                   "samples": 3, "temperature": 0.8, "top_p": 0.95, "max_new_tokens": 32, "batch_size": 128,
                   "seed": 0, "ner": False, "min_k": 0.2},
        "timings": {"total_s": 1.0}, "findings": findings,
    }
    return full, redact_report(full)


def evidence(*, base_sha256: str, result_sha256: str, passed: bool = True,
             subjects: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An evidence.json as ``workers.engine.unlearning`` writes it (schema rtbf.unlearning-evidence/2)."""
    from workers.engine.evidence import redact_report

    def report(hits: dict[tuple[str, str], tuple[int, int]]) -> dict[str, Any]:
        found = []
        for (attribute, family), (leaks, asked) in hits.items():
            found += [finding(attribute, family, "confirmed" if i < leaks else "none", prompt=f"{family} {i}",
                              completion=f"answer {i}") for i in range(asked)]
        return redact_report(probe_report(base_sha256, found, submitted=["email", "phone"])[0])

    per_subject = subjects or [{
        "index": 0, "identifier_kinds": ["email", "phone"], "texts": 0, "attributes_chosen": ["email"],
        "forgotten_attributes": ["email"],
        "families": {"training": ["direct", "question"], "held_out": ["paraphrase", "inverse"]},
        "forget_set": {"found": 8, "kept_as_retain": 0},
        "probe_before": report({("email", "direct"): (3, 4), ("email", "question"): (2, 4),
                                ("email", "paraphrase"): (1, 4), ("email", "inverse"): (1, 4)}),
        "probe_after": report({("email", "direct"): (0, 4), ("email", "question"): (0, 4),
                               ("email", "paraphrase"): (0, 4), ("email", "inverse"): (0 if passed else 2, 4)}),
        "verdict": {"passed": passed, "reasons": ["no confirmed leak"] if passed else
                    ["2 confirmed leak(s) on held-out families: inverse/greedy=2"], "leaks": {}},
    }]
    reasons = ["no confirmed leak and utility within bounds"] if passed else \
        ["2 confirmed leak(s) on held-out families: inverse/greedy=2"]
    first = per_subject[0]
    return {
        "schema": "rtbf.unlearning-evidence/2", "created_at": "2026-11-23T12:19:47+00:00",
        "method": {"name": "fpga", "summary": "token-weighted gradient ascent on PII tokens + KL to the reference on "
                   "retain", "lr": 0.0006, "params": {"kl": 8.0, "max_nll": 3.0}, "lora": True, "rank": 4,
                   "alpha": 8, "init": "default"},
        "config": {"method": "fpga", "max_steps": 150, "seed": 7, "lora": True, "rank": 4},
        "seeds": {"torch": 7, "probe": 7},
        "subjects": per_subject,
        "subject": {"identifier_kinds": first["identifier_kinds"], "texts": first["texts"]},
        "families": first["families"], "forgotten_attributes": first["forgotten_attributes"],
        "probe_before": first["probe_before"], "probe_after": first["probe_after"],
        "forget_set": {"found": 8, "examples": 8, "batches": 1, "confirmed_only": False},
        "retain_set": {"source": "generated", "examples": 40, "perplexity_texts": "heldout_text.txt"},
        "training": {"steps": 35, "stopped": "check_passed", "max_abs_weight_change": 0.04, "checks": [],
                     "loss_history": []},
        "utility_before": {"kind": "roster_exact_recall", "accuracy": 0.98, "n": 100, "per_attribute": {},
                           "perplexity": 5.0},
        "utility_after": {"kind": "roster_exact_recall", "accuracy": 0.96, "n": 100, "per_attribute": {},
                          "interval95": [0.901, 0.984], "perplexity": 5.1},
        "verdict": {"passed": passed, "reasons": reasons, "leaks": {}},
        "weights": {"base_sha256": base_sha256, "result_sha256": result_sha256, "adapter_sha256": "ad" * 32},
        "caveats": [], "timings": {"probe_before_s": 0.5, "train_s": 12.25, "verify_s": 4.0, "total_s": 17.0},
        "peak_memory": {"max_rss_mb": 600.0}, "versions": {"python": "3.11.7"},
    }
