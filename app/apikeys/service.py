"""Create, authenticate and revoke API keys.

A key reads ``rtbf_<prefix>_<secret>``. Only SHA-256 of the whole key is stored: the secret has 256 bits
of entropy, so a slow password hash would add latency to every call without adding safety.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.apikeys.models import ApiKey
from app.audit import service as audit_service
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.security import constant_time_equals

# models:read/models:write: the target models registry (register, restore a version); jobs:write: start and
# cancel discovery and unlearning jobs (and read them). Reading a job is also open to requests:read.
SCOPES = frozenset({"requests:read", "requests:write", "requests:review", "audit:read", "models:read",
                    "models:write", "jobs:write"})
_KEY_PREFIX = "rtbf"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(*, session: Session, name: str, scopes: list[str] | set[str]) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("A key name of 1 to 120 characters is required.")
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if not wanted or unknown:
        raise InvalidInput(
            "Give at least one valid scope.", details={"unknown": unknown, "allowed": sorted(SCOPES)}
        )
    prefix = secrets.token_hex(6)
    token = f"{_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(id=str(uuid.uuid4()), prefix=prefix, key_hash=_digest(token), name=name, scopes=wanted)
    session.add(key)
    session.flush()
    audit_service.append(
        session=session, event="apikey.created", actor="system", details={"key_id": key.id, "scopes": wanted}
    )
    return key, token


def authenticate_key(*, session: Session, token: str) -> ApiKey | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _KEY_PREFIX:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or not key.active or not constant_time_equals(key.key_hash, _digest(token)):
        return None
    return key


def list_keys(*, session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(*, session: Session, key_id: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where((ApiKey.id == key_id) | (ApiKey.prefix == key_id)))
    if key is None:
        raise NotFound("No API key with that id or prefix.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit_service.append(session=session, event="apikey.revoked", actor="system", details={"key_id": key.id})
    return key
