"""Canonical encoding and hashing of one audit entry (pure functions, shared by append and verify)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

# Only these value types may appear in details: they encode canonically and cannot smuggle objects
# whose str() might contain personal data.
_ALLOWED_SCALARS = (str, int, bool, type(None))


def check_details(details: dict[str, Any]) -> None:
    for key, value in details.items():
        if not isinstance(key, str):
            raise TypeError("audit detail keys must be strings")
        if isinstance(value, list):
            if not all(isinstance(v, _ALLOWED_SCALARS) for v in value):
                raise TypeError(f"audit detail {key!r} holds a non-scalar list item")
        elif not isinstance(value, _ALLOWED_SCALARS):
            raise TypeError(f"audit detail {key!r} has unsupported type {type(value).__name__}")


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    seq: int,
    request_id: str | None,
    event: str,
    actor: str,
    details: dict[str, Any],
    created_at: datetime,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of every field, including the previous entry's hash."""
    payload = {
        "seq": seq,
        "request_id": request_id,
        "event": event,
        "actor": actor,
        "details": details,
        "created_at": canonical_time(created_at),
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()
