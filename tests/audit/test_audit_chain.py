"""The audit log: hash chain, append-only trigger, and detection of altered, deleted and reordered rows."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.chain import GENESIS_HASH, entry_hash

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def log(session: Session) -> list:
    entries = [
        audit_service.append(session=session, event="erasure.received", actor="subject", request_id=None,
                             details={"n": i, "email_hmac": "ab" * 32}, now=T)
        for i in range(1, 6)
    ]
    session.expire_all()
    return entries


def as_dba(session: Session, statement: str, **params) -> None:
    """Bypass the append-only trigger as a database superuser could (then verify must notice)."""
    session.execute(text("SET LOCAL session_replication_role = replica"))
    session.execute(text(statement), params)
    session.execute(text("SET LOCAL session_replication_role = origin"))
    session.expire_all()


def test_chain_links_and_verifies(session, log) -> None:
    assert [e.seq for e in log] == [1, 2, 3, 4, 5]
    assert log[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in zip(log, log[1:], strict=False))
    result = audit_service.verify_chain(session=session)
    assert result.ok and result.checked == 5 and result.first_bad_seq is None


def test_empty_log_verifies(session) -> None:
    assert audit_service.verify_chain(session=session).ok


def test_hash_covers_every_field() -> None:
    base = dict(seq=1, request_id="r", event="a.b", actor="system", details={"k": 1}, created_at=T, prev_hash=GENESIS_HASH)
    reference = entry_hash(**base)
    for field, value in [("seq", 2), ("request_id", "s"), ("event", "a.c"), ("actor", "subject"),
                         ("details", {"k": 2}), ("created_at", T.replace(microsecond=1)), ("prev_hash", "1" * 64)]:
        assert entry_hash(**{**base, field: value}) != reference, field


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET actor = 'x' WHERE seq = 2",
                                       "DELETE FROM audit_entries WHERE seq = 2",
                                       "TRUNCATE audit_entries"])
def test_trigger_refuses_changes(session, log, statement) -> None:
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert audit_service.verify_chain(session=session).checked == 5


def test_altered_row_is_named(session, log) -> None:
    as_dba(session, "UPDATE audit_entries SET details = CAST(:d AS json) WHERE seq = 3", d='{"n": 99}')
    result = audit_service.verify_chain(session=session)
    assert not result.ok and result.first_bad_seq == 3 and "altered" in result.reason and result.checked == 2


def test_altered_row_with_recomputed_hash_breaks_the_next_link(session, log) -> None:
    forged = entry_hash(seq=3, request_id=None, event="erasure.received", actor="officer:x", details={"n": 3,
                        "email_hmac": "ab" * 32}, created_at=T, prev_hash=log[1].entry_hash)
    as_dba(session, "UPDATE audit_entries SET actor = 'officer:x', entry_hash = :h WHERE seq = 3", h=forged)
    result = audit_service.verify_chain(session=session)
    assert not result.ok and result.first_bad_seq == 4 and "prev_hash" in result.reason


def test_deleted_row_is_named(session, log) -> None:
    as_dba(session, "DELETE FROM audit_entries WHERE seq = 2")
    result = audit_service.verify_chain(session=session)
    assert not result.ok and result.first_bad_seq == 2 and "missing" in result.reason


def test_deleted_row_with_renumbering_is_caught(session, log) -> None:
    as_dba(session, "DELETE FROM audit_entries WHERE seq = 2")
    for seq in (3, 4, 5):  # one row at a time: the primary key is checked per row
        as_dba(session, "UPDATE audit_entries SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    result = audit_service.verify_chain(session=session)
    assert not result.ok and result.first_bad_seq == 2


def test_reordered_rows_are_named(session, log) -> None:
    as_dba(session, "UPDATE audit_entries SET seq = 100 WHERE seq = 3")
    as_dba(session, "UPDATE audit_entries SET seq = 3 WHERE seq = 4")
    as_dba(session, "UPDATE audit_entries SET seq = 4 WHERE seq = 100")
    result = audit_service.verify_chain(session=session)
    assert not result.ok and result.first_bad_seq == 3


def test_details_must_be_plain_values(session) -> None:
    with pytest.raises(TypeError):
        audit_service.append(session=session, event="x.y", actor="system", details={"obj": object()})
    with pytest.raises(ValueError):
        audit_service.append(session=session, event="NotDotted", actor="system")


def test_entries_for_request(session, log) -> None:
    audit_service.append(session=session, event="erasure.approved", actor="system", request_id="req-1")
    assert [e.event for e in audit_service.entries_for_request(session=session, request_id="req-1")] == [
        "erasure.approved"
    ]


def test_anchor_catches_a_cut_off_tail(session, log) -> None:
    result = audit_service.verify_chain(session=session)
    assert result.head_hash == log[-1].entry_hash
    anchor = (5, result.head_hash)
    assert audit_service.verify_chain(session=session, anchor=anchor).ok
    as_dba(session, "DELETE FROM audit_entries WHERE seq = 5")
    assert audit_service.verify_chain(session=session).ok  # a bare chain cannot tell
    cut = audit_service.verify_chain(session=session, anchor=anchor)
    assert not cut.ok and cut.first_bad_seq == 5 and "before the saved anchor" in cut.reason


def test_anchor_with_a_different_hash_fails(session, log) -> None:
    result = audit_service.verify_chain(session=session, anchor=(3, "f" * 64))
    assert not result.ok and result.first_bad_seq == 3 and "anchor" in result.reason
