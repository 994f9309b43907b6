"""Concurrent writers must neither fork the chain nor fail: PostgreSQL (advisory lock) and SQLite (BEGIN IMMEDIATE)."""

from __future__ import annotations

import threading

import pytest

from app.audit import service as audit_service
from app.core.db import make_engine, make_session_factory
from app.core.migrate import upgrade

WRITERS, EACH = 4, 10


def _hammer(url: str) -> list[str]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    errors: list[str] = []

    def work(writer: int) -> None:
        for n in range(EACH):
            try:
                with factory() as db:
                    audit_service.append(session=db, event="test.concurrent", actor="system",
                                         details={"writer": writer, "n": n})
                    db.commit()
            except Exception as exc:  # noqa: BLE001 - collected and asserted empty below
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with factory() as db:
        result = audit_service.verify_chain(session=db)
    engine.dispose()
    assert result.ok and result.checked == WRITERS * EACH, result
    return errors


def test_concurrent_appends_on_postgres(make_database) -> None:
    assert _hammer(make_database()) == []


@pytest.mark.usefixtures("settings")
def test_concurrent_appends_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'rtbf.sqlite3'}"
    upgrade(url)
    assert _hammer(url) == []
