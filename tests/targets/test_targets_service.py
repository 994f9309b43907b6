"""Target model registry: validation of what an officer registers, versions, and restore's preconditions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.errors import Conflict, InvalidInput, NotFound
from app.targets import service as targets

OFFICER = "officer:test"


def _model_dir(path: Path, weights: bytes = b"weights") -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "gpt2"}), encoding="utf-8")
    (path / "model.safetensors").write_bytes(weights)
    return path


def test_add_model_registers_version_1_with_the_weights_hash(session, tmp_path) -> None:
    import hashlib

    model = targets.add_model(session=session, name="  Demo-Assistant ", path=_model_dir(tmp_path / "m"),
                              actor=OFFICER, description="  the demo  ")
    assert model.name == "demo-assistant" and model.description == "the demo"
    (v1,) = model.versions
    assert model.current is v1 and v1.number == 1 and v1.parent_id is None and v1.origin == "registered"
    expected = hashlib.sha256(b"model.safetensors" + b"weights").hexdigest()
    assert v1.weights_sha256 == expected and v1.path == str((tmp_path / "m").resolve())
    assert v1.label == "demo-assistant v1"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "model.registered")).one()
    assert entry.details == {"model_id": model.id, "name": "demo-assistant", "version": 1,
                             "weights_sha256": expected, "training_corpus": False}
    assert targets.get_by_name(session=session, name="DEMO-assistant") is model
    assert targets.find_by_name(session=session, name="nope") is None and targets.find_by_name(
        session=session, name=None) is None
    assert targets.list_models(session=session) == [model]
    assert targets.get_version(session=session, version_id=v1.id) is v1


def test_add_model_refuses_a_missing_directory(session, tmp_path) -> None:
    with pytest.raises(InvalidInput, match="model directory not found") as caught:
        targets.add_model(session=session, name="demo", path=tmp_path / "absent", actor=OFFICER)
    assert caught.value.details == {"field": "path"}


@pytest.mark.parametrize("path", ["~nosuchuser/m", "~/m", "~root/m"])
def test_a_home_directory_path_is_taken_as_typed_and_never_names_the_servers_home(session, path, tmp_path) -> None:
    """"~" is not expanded: it is the caller's input, not the server's home (an unknown user raised a 500)."""
    for field in ("path", "corpus"):
        with pytest.raises(InvalidInput) as caught:
            if field == "path":
                targets.add_model(session=session, name="t1", path=path, actor=OFFICER)
            else:
                targets.add_model(session=session, name="t1", path=_model_dir(tmp_path / "m"), actor=OFFICER,
                                  corpus=path)
        message = str(caught.value)
        assert str(Path.home()) not in message and caught.value.details == {"field": field}
        assert field == "corpus" or path in message


def test_add_model_refuses_a_directory_without_config_or_weights(session, tmp_path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.safetensors").write_bytes(b"w")
    with pytest.raises(InvalidInput, match="no config.json"):
        targets.add_model(session=session, name="demo", path=bare, actor=OFFICER)
    (bare / "config.json").write_text("{}")
    (bare / "model.safetensors").unlink()
    with pytest.raises(InvalidInput, match="no model weights"):
        targets.add_model(session=session, name="demo", path=bare, actor=OFFICER)
    assert targets.list_models(session=session) == []


@pytest.mark.parametrize("name", ["", "   ", "-starts-with-dash", "has space", "slash/name", "x" * 81, "naïve"])
def test_add_model_refuses_bad_names(session, tmp_path, name) -> None:
    with pytest.raises(InvalidInput, match="model name") as caught:
        targets.add_model(session=session, name=name, path=_model_dir(tmp_path / "m"), actor=OFFICER)
    assert caught.value.details == {"field": "name"}


def test_add_model_refuses_a_duplicate_name(session, tmp_path) -> None:
    targets.add_model(session=session, name="demo", path=_model_dir(tmp_path / "a"), actor=OFFICER)
    with pytest.raises(Conflict, match="already registered"):
        targets.add_model(session=session, name="DEMO", path=_model_dir(tmp_path / "b"), actor=OFFICER)


def test_unknown_ids_and_names_are_not_found(session) -> None:
    with pytest.raises(NotFound):
        targets.get_model(session=session, model_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        targets.get_version(session=session, version_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound, match="No model named"):
        targets.get_by_name(session=session, name="ghost")


def test_versions_chain_and_restore(session, tmp_path) -> None:
    model = targets.add_model(session=session, name="demo", path=_model_dir(tmp_path / "v1"), actor=OFFICER)
    v1 = model.current
    v2 = targets.record_version(session=session, model=model, parent=v1, path=tmp_path / "v2", weights_sha256="2" * 64,
                                actor="system", job_id="job-2")
    v3 = targets.record_version(session=session, model=model, parent=v2, path=tmp_path / "v3", weights_sha256="3" * 64,
                                actor="system", job_id="job-3")
    assert (v2.number, v3.number) == (2, 3) and model.current is v3 and v3.parent is v2
    created = session.scalars(select(AuditEntry).where(AuditEntry.event == "model.version_created")
                              .order_by(AuditEntry.seq)).all()
    assert [(e.details["version"], e.details["parent_version"], e.details["job_id"]) for e in created] == [
        (2, 1, "job-2"), (3, 2, "job-3")]

    with pytest.raises(InvalidInput, match="reason is required"):
        targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="   ")
    assert model.current is v3
    restored = targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="bad answers")
    assert (restored.version, restored.retired, restored.reopened) == (v2, v3, [])
    restored = targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="still bad")
    assert restored.version is v1
    with pytest.raises(Conflict, match="no previous version"):
        targets.restore_previous(session=session, model_id=model.id, actor=OFFICER, reason="once more")
    # A version made after a restore numbers on from the highest, never reusing a retired number.
    v4 = targets.record_version(session=session, model=model, parent=v1, path=tmp_path / "v4", weights_sha256="4" * 64,
                                actor="system", job_id="job-4")
    assert v4.number == 4 and v4.parent is v1 and model.current is v4
    restored = session.scalars(select(AuditEntry).where(AuditEntry.event == "model.version_restored")).all()
    assert [(e.details["from_version"], e.details["to_version"]) for e in restored] == [(3, 2), (2, 1)]
    # The whole reason, not "bad" alone: that also turns up by chance in the hex of ids and hashes.
    assert all("bad answers" not in json.dumps(e.details) and "still bad" not in json.dumps(e.details)
               for e in restored)
