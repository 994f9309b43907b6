"""Turn an erasure request into the engine's subject (name, identifiers by attribute key, texts).

Runs in the worker, which decrypts the request itself: personal data never travels through the broker.
The form's "other identifiers" field is free text; entries (lines, or ';'-separated) such as ``IBAN: DE89...`` or
``date of birth: ...`` become identifiers of the matching kind, anything else is kept as a text about the subject.
"""

from __future__ import annotations

import re
from typing import Any

from app.requests.models import ErasureRequest
from app.requests.service import identifiers

# Label words -> attribute keys (app/jobs/attributes.py, the engine's keys); first match wins.
_LABELS: tuple[tuple[str, str], ...] = (
    (r"e-?mail", "email"),
    (r"phone|mobile|tel", "phone"),
    (r"birth|dob|born", "dob"),
    (r"iban|bank|account", "iban"),
    (r"employer|work|company|job", "employer"),
    (r"national|ssn|social security|passport|\bid\b|nino|nhs", "national_id"),
    (r"address|street|home", "address"),
)
_LINE = re.compile(r"^\s*([^:=]{1,40})[:=]\s*(.+?)\s*$")


def parse_other_identifiers(text: str | None) -> tuple[dict[str, str], list[str]]:
    found: dict[str, str] = {}
    rest: list[str] = []
    # One entry per line or per ';' (a form field pasted on one line); values of these kinds hold no ';'.
    for line in re.split(r"[;\n]", text or ""):
        if not line.strip():
            continue
        match = _LINE.match(line)
        key = None
        if match:
            label = match.group(1).lower()
            key = next((k for pattern, k in _LABELS if re.search(pattern, label)), None)
        if key and key not in found:
            found[key] = match.group(2)  # type: ignore[union-attr]
        else:
            rest.append(line.strip())
    return found, rest


def subject_payload(request: ErasureRequest) -> dict[str, Any]:
    """The engine's subject JSON for ``request`` (plain dict; ``workers.engine.subject.parse_subject`` reads it)."""
    ids = identifiers(request)
    extra, texts = parse_other_identifiers(ids.other_identifiers)
    found = {"email": ids.email, "phone": ids.phone or "", "address": ids.postal_address or ""}
    for key, value in extra.items():
        found.setdefault(key, value)
        if not found[key]:
            found[key] = value
    if ids.details:
        texts.append(ids.details)
    return {"name": ids.full_name, "identifiers": {k: v for k, v in found.items() if v}, "texts": texts}
