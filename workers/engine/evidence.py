"""Evidence of one unlearning run: what was probed, changed and measured, without the personal data itself.

The file proves the removal to an auditor. It keeps rates, counts, templates, verdicts and SHA-256
digests of the completions, never the completions, prompts or identifiers: keeping the erased data in
the proof of its erasure would defeat the purpose (and the audit chain must survive key shredding).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# /2: per-subject results under "subjects" (batches); the top-level per-subject keys are subject 0's.
SCHEMA = "rtbf.unlearning-evidence/2"
LIBRARIES = ("torch", "transformers", "peft", "accelerate", "tokenizers", "safetensors", "presidio-analyzer",
             "presidio-anonymizer", "spacy")
_PERSONAL_FINDING_KEYS = ("prompt", "completion", "spans")


def library_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_dir(directory: str | Path, pattern: str = "*.safetensors") -> str:
    digest = hashlib.sha256()
    for file in sorted(Path(directory).glob(pattern)):
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def redact_finding(finding: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in finding.items() if k not in _PERSONAL_FINDING_KEYS}
    out["prompt_sha256"] = sha256_text(str(finding.get("prompt", "")))
    out["completion_sha256"] = sha256_text(str(finding.get("completion", "")))
    if out.get("matched") and out.get("verdict") == "none":
        out.pop("matched")
    return out


def redact_report(report: Any) -> dict[str, Any]:
    """A probe report as evidence: rates and per-finding metadata; texts replaced by their digests."""
    data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "findings":
            out[key] = [redact_finding(dict(f)) for f in value]
        elif key == "contexts":  # discovered prompts quote the subject: their digests and where they came from
            out[key] = [{k: v for k, v in dict(c).items() if k not in ("prompt", "group", "value")}
                        | {"prompt_sha256": sha256_text(str(c.get("prompt", "")))} for c in value]
        elif key == "discovered":  # values the model ties to the subject: what they are, never the value
            out[key] = [{k: v for k, v in dict(d).items() if k != "value"}
                        | {"value_sha256": sha256_text(str(d.get("value", "")))} for d in value]
        elif key == "membership":
            out[key] = {"mean": value.get("mean")} if isinstance(value, dict) else None
        elif key in ("summary", "subject"):
            continue  # free text that may quote identifiers
        else:
            out[key] = value
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_evidence(path: str | Path, evidence: dict[str, Any]) -> str:
    """Write canonical JSON and return its SHA-256 (what an audit entry commits to).

    Written to a temporary name and renamed into place, so a reader (or a run killed mid-write) never
    sees a truncated evidence file under the final name."""
    import os

    target = Path(path)
    text = json.dumps(evidence, indent=2, sort_keys=True, default=str, allow_nan=True) + "\n"
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)
    return sha256_text(text)
