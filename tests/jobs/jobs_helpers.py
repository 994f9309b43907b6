"""Helpers for the job tests (not a test module): a fake model directory and probe reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.targets.models import TargetModel

OFFICER = "officer:test"


def fake_model_dir(path: Path, weights: bytes = b"weights-v1") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "gpt2"}), encoding="utf-8")
    (path / "model.safetensors").write_bytes(weights)
    return path


Report = dict[str, Any]


def probe_report(model: TargetModel, *, confirmed: list[str], candidates: list[str] = (),
                 secret: str = "") -> tuple[Report, Report]:
    """(full, redacted) reports as the worker stores them; completions quote ``secret`` like a real leak."""
    from workers.engine.evidence import redact_report

    findings = []
    for attribute, verdict in [(a, "confirmed") for a in confirmed] + [(a, "candidate") for a in candidates]:
        findings.append({"attribute": attribute, "family": "direct", "template_id": f"{attribute}-1",
                         "prompt": f"What is the {attribute} of the person?", "completion": f"It is {secret}.",
                         "decoding": "greedy", "verdict": verdict, "matched": attribute, "score": 1.0,
                         "spans": [[6, 6 + len(secret)]]})
    full = {"model_sha256": model.current.weights_sha256, "summary": f"CONFIRMED: {secret}", "submitted": confirmed,
            "confirmed_rate": 1.0 if confirmed else 0.0, "rates": {}, "membership": {"mean": 0.5}, "config": {},
            "timings": {}, "findings": findings}
    return full, redact_report(full)
