"""Read and write officer settings. A setting that was never changed has no row: its reader's default applies.

Callers validate the value and audit the change (the audit entry names the setting's new value, which must hold
no personal data); this module only stores it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.settings.models import Setting


def read(*, session: Session, key: str) -> dict[str, Any] | None:
    row = session.get(Setting, key)
    return dict(row.value) if row is not None else None


def write(*, session: Session, key: str, value: dict[str, Any], actor: str) -> Setting:
    # Locked (PostgreSQL): two officers saving at once change it one after the other, each audited.
    row = session.get(Setting, key, with_for_update=True)
    if row is None:
        row = Setting(key=key, value=dict(value), updated_by=actor, updated_at=utcnow())
        session.add(row)
    else:
        row.value, row.updated_by, row.updated_at = dict(value), actor, utcnow()
    session.flush()
    return row
