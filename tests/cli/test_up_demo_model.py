"""The demo model of `rtbf up`: found when built, registered once, three people named from its roster."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.audit.models import AuditEntry
from app.cli import demo
from app.core.config import get_settings
from app.targets.models import TargetModel


def test_a_built_model_is_registered_once(cli_database, tiny_model_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RTBF_DEMO_MODEL_SIZE", "tiny")
    monkeypatch.setenv("RTBF_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    settings = get_settings()
    shutil.copytree(tiny_model_dir, settings.demo_model_dir)
    path, trained = demo.ensure_built(settings)  # present: no training
    assert (path, trained) == (settings.demo_model_dir.resolve(), False)
    assert demo.ensure_registered(settings, path) == ("demo-assistant", True)
    assert demo.ensure_registered(settings, path) == ("demo-assistant", False)
    with Session(create_engine(cli_database, poolclass=NullPool)) as db:
        assert db.scalar(select(func.count()).select_from(TargetModel)) == 1
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.event == "model.registered")) == 1
    roster = [json.loads(line) for line in (path / "roster.jsonl").read_text().splitlines()[:3]]
    people = demo.demo_people(path)
    assert [(p.name, p.email, p.phone, p.address) for p in people] == [
        (r["name"], r["email"], r["phone"], r["address"]) for r in roster]
    # What the form's "other identifiers" field gets is read back as the roster's own attributes.
    from app.jobs.subjects import parse_other_identifiers

    found, rest = parse_other_identifiers(people[0].other_identifiers)
    assert found == {k: roster[0][k] for k in ("dob", "employer", "iban")} and rest == []


def test_an_unfinished_directory_is_not_taken_for_a_model(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "roster.jsonl").write_text("")
    assert not demo.is_built(tmp_path)  # demo.json, written last by the engine, is missing
