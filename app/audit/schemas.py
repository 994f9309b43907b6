from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    request_id: str | None
    event: str
    actor: str
    details: dict[str, Any]
    created_at: datetime
    prev_hash: str
    entry_hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    head_hash: str | None
