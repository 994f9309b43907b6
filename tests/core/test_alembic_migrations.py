"""Migrations: downgrade to base and back on PostgreSQL, and the embedded SQLite default end to end."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.audit import service as audit_service
from app.core.migrate import alembic_config, current_revision, head_revision
from app.requests import service as request_service
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus

TABLES = {"erasure_requests", "one_time_codes", "officers", "api_keys", "outbox_messages", "audit_entries"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_postgres_downgrade_base_then_upgrade_head(make_database) -> None:
    url = make_database()
    config = alembic_config(url)
    command.downgrade(config, "base")
    assert current_revision(url) is None and not (_tables(url) & TABLES)
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_entries_append_only'")).scalar() == 0
    command.upgrade(config, "head")
    command.check(config)
    assert current_revision(url) == head_revision() and TABLES <= _tables(url)
    with engine.connect() as conn:
        triggers = {r[0] for r in conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_entries'::regclass AND NOT tgisinternal"))}
    engine.dispose()
    assert triggers == {"audit_entries_no_update_delete", "audit_entries_no_truncate"}


def test_sqlite_embedded_default_smoke(tmp_path, settings) -> None:
    url = f"sqlite:///{tmp_path / 'rtbf.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.check(config)
    command.downgrade(config, "base")
    assert not (_tables(url) & TABLES)
    command.upgrade(config, "head")

    from app.core.db import make_engine

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        created = request_service.create_request(
            session=db, data=RequestCreate(full_name="Ada Lovelace", email="ada@example.org"), channel="web")
        db.commit()
        from app.notifications import service as notification_service

        body = notification_service.list_outbox(session=db, request_id=created.request.id)[0].body
        code = body.split("code is: ", 1)[1][:6]
        request_service.verify_code(session=db, request_id=created.request.id, code=code)
        db.commit()
    with Session(engine) as db:
        request = request_service.get_by_status_token(session=db, token=created.status_token)
        assert request.status == RequestStatus.pending_review
        assert request.received_at.tzinfo is not None and request.due_at > request.received_at
        result = audit_service.verify_chain(session=db)
        assert result.ok and result.checked == 2  # received, pending_review
        # SQLite has the append-only triggers too.
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text("UPDATE audit_entries SET actor = 'x' WHERE seq = 1"))
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_officer_reasons_written_before_encryption_are_encrypted_in_place_and_back(backend, make_database,
                                                                                   tmp_path, settings) -> None:
    """Migration 0007: reasons stored in plain text by earlier versions become ciphertext (readable through the
    model as before); downgrading gives the plain text back."""
    url = make_database() if backend == "postgres" else f"sqlite:///{tmp_path / 'rtbf.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    from app.core.db import make_engine
    from app.requests.models import ErasureRequest

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        created = request_service.create_request(
            session=db, data=RequestCreate(full_name="Ada Lovelace", email="ada@example.org"), channel="web").request
        db.commit()
    command.downgrade(config, "0006")
    quoted = "Ada Lovelace (ada@example.org) is a public figure"
    with engine.begin() as conn:
        conn.execute(text("UPDATE erasure_requests SET decision_reason = :r, extension_reason = :e WHERE id = :i"),
                     {"r": quoted, "e": "complex", "i": created.id})
    command.upgrade(config, "head")
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT decision_reason_enc, cancel_reason_enc FROM erasure_requests")).one()
    assert raw[0] and b"Lovelace" not in bytes(raw[0]) and raw[1] is None
    with Session(engine) as db:
        row = db.get(ErasureRequest, created.id)
        assert (row.decision_reason, row.extension_reason, row.cancel_reason) == (quoted, "complex", None)
    command.downgrade(config, "0006")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT decision_reason FROM erasure_requests")).scalar() == quoted
    engine.dispose()
