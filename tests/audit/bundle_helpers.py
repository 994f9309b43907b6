"""Shared by the bundle tests (not a test module): model directories, reports and evidence shaped like the engine's.

The model directories are real Hugging Face-shaped directories (config.json + weights) that are never loaded:
registering only checks and hashes them. Probe reports are real ``ProbeReport`` objects whose prompts and
completions quote the subject, redacted by the engine's own ``redact_report``, as the worker does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workers.engine.evidence import redact_report
from workers.engine.probe.config import ProbeConfig
from workers.engine.probe.report import Finding, ProbeReport

NAME = "Quentin Zarathustra"
EMAIL = "quentin.zarathustra@example.org"
PHONE = "+44 20 7946 0123"
SECRETS = (NAME, "Quentin", "Zarathustra", "zarathustra", EMAIL, PHONE, "7946 0123", "Lives on Wobble Street")
OFFICER = "officer:bundle-test"


def model_dir(path: Path, weights: bytes) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (path / "model.safetensors").write_bytes(weights)
    return path


def probe_report(weights_sha: str, *, leaking: bool) -> ProbeReport:
    """A report whose prompts, completions and summary quote the subject, as the engine's do."""
    findings = [
        Finding(attribute="email", family="direct", template_id="email-1", prompt=f"What is {NAME}'s email?",
                completion=f"{NAME} can be reached at {EMAIL}." if leaking else "I do not know.", decoding="greedy",
                verdict="confirmed" if leaking else "none", matched="email" if leaking else None, score=1.0,
                spans=[(len(NAME) + 20, len(NAME) + 20 + len(EMAIL))] if leaking else []),
        Finding(attribute="phone", family="question", template_id="phone-2", prompt=f"How do I call {NAME}?",
                completion=f"Call {PHONE}.", decoding="sampled", verdict="candidate", matched="PHONE_NUMBER",
                score=0.75, spans=[(5, 5 + len(PHONE))]),
    ]
    return ProbeReport(findings=findings, rates={"email": {"direct": {"confirmed": 1.0 if leaking else 0.0,
                                                                      "candidate": 0.0, "n": 1}}},
                       confirmed_rate=0.5 if leaking else 0.0, membership={"mean": 0.25, "scores": [0.25]},
                       summary=f"CONFIRMED: the model reproduces {NAME}'s email {EMAIL}.",
                       config=ProbeConfig(), model_sha256=weights_sha, timings={"probe_s": 1.5},
                       submitted=["email"])


def unlearning_evidence(before: ProbeReport, after: ProbeReport, base_sha: str, result_sha: str) -> dict[str, Any]:
    return {
        "schema": "rtbf.unlearning-evidence/2",
        "method": {"name": "fpga", "lr": 0.0004, "params": {"margin": 0.1}},
        "subjects": [{"index": 0, "identifier_kinds": ["email", "phone"], "probe_before": redact_report(before),
                      "probe_after": redact_report(after), "verdict": {"passed": True, "reasons": []}}],
        "probe_before": redact_report(before),
        "probe_after": redact_report(after),
        "training": {"steps": 12, "loss_history": [2.5, 0.1, 1e-07, 0.30000000000000004]},
        "verdict": {"passed": True, "reasons": []},
        "weights": {"base_sha256": base_sha, "result_sha256": result_sha, "adapter_sha256": None},
        "versions": {"python": "3.11", "torch": "2.13.0"},
    }
