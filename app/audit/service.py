"""Append to and verify the audit chain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit.chain import GENESIS_HASH, check_details, entry_hash
from app.audit.models import AuditEntry
from app.core.db import utcnow

_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# Any constant works; it only has to be the same for every writer of this table.
_APPEND_LOCK_KEY = 0x52544246


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    # Hash of the last verified entry. A bare chain cannot show that its tail was cut off: keep this value
    # somewhere else (a ticket, a signed note) and pass it back to ``verify_chain(anchor=...)`` later.
    head_hash: str | None = None


def _lock_tail(session: Session) -> None:
    """Serialise appenders on PostgreSQL (SQLite serialises writers itself).

    The wait obeys ``lock_timeout``: in the web process a request gives up after ``db_lock_timeout_ms`` (503)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})


def append(
    *,
    session: Session,
    event: str,
    actor: str,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    if not _EVENT.match(event):
        raise ValueError(f"audit events are dotted lower-case names, got {event!r}")
    details = dict(details or {})
    check_details(details)
    # The lock is held until the transaction ends: write the caller's pending changes (which may wait on row locks
    # of their own) before taking it, not while every other appender waits. Explicit, as autoflush may be off.
    session.flush()
    _lock_tail(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    created_at = now or utcnow()
    fields = dict(seq=seq, request_id=request_id, event=event, actor=actor, details=details,
                  created_at=created_at, prev_hash=prev)
    entry = AuditEntry(**fields, entry_hash=entry_hash(**fields))
    session.add(entry)
    session.flush()
    return entry


def verify_chain(
    *, session: Session, anchor: tuple[int, str] | None = None, batch_size: int = 1000
) -> VerifyResult:
    """Recompute every entry's hash in seq order; report the first entry that does not fit.

    Catches an altered row (its hash no longer matches), a deleted row (a gap in seq, or the next
    entry's prev_hash no longer matches) and reordered rows (hashes commit to seq and predecessor).
    ``anchor`` = (seq, entry_hash) saved from an earlier run: the chain must still hold that entry,
    which also catches a cut-off tail.
    """
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    for entry in session.scalars(stmt):
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != prev:
            return VerifyResult(False, checked, entry.seq, "prev_hash does not match the previous entry")
        recomputed = entry_hash(
            seq=entry.seq,
            request_id=entry.request_id,
            event=entry.event,
            actor=entry.actor,
            details=entry.details,
            created_at=entry.created_at,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.entry_hash:
            return VerifyResult(False, checked, entry.seq, "content does not match its hash (entry was altered)")
        if anchor is not None and entry.seq == anchor[0] and entry.entry_hash != anchor[1]:
            return VerifyResult(False, checked, entry.seq, "entry does not match the saved anchor hash")
        prev, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
    if anchor is not None and checked < anchor[0]:
        return VerifyResult(False, checked, checked + 1,
                            f"the log ends at entry {checked}, before the saved anchor entry {anchor[0]}")
    return VerifyResult(True, checked, head_hash=prev if checked else None)


def entries_for_request(*, session: Session, request_id: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id).order_by(AuditEntry.seq)))
