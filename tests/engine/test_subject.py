import json
from pathlib import Path

import pytest

from workers.engine.errors import EngineError
from workers.engine.subject import Subject, load_subject, parse_subject


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "subject.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_load_valid_subject(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps({"name": " Jane Doe ", "identifiers": {"Email": "j@example.com", "phone": " "},
                                        "texts": ["Jane wrote this.", "  "]}))
    subject = load_subject(path)
    assert subject == Subject(name="Jane Doe", identifiers={"email": "j@example.com"}, texts=["Jane wrote this."])


def test_name_only_is_enough(tmp_path: Path) -> None:
    subject = load_subject(_write(tmp_path, '{"name": "Jane Doe"}'))
    assert subject.identifiers == {} and subject.texts == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"identifiers": {}}', "name"),
        ('{"name": "   "}', "name"),
        ('{"name": "Jane", "identifiers": ["a"]}', "identifiers"),
        ('{"name": "Jane", "identifiers": {"email": 5}}', "identifiers"),
        ('{"name": "Jane", "texts": "one"}', "texts"),
        ('{"name": "Jane", "nickname": "J"}', "nickname"),
    ],
)
def test_malformed_subject_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        load_subject(_write(tmp_path, content))


def test_error_never_echoes_personal_values(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as info:
        load_subject(_write(tmp_path, '{"name": "Jane", "identifiers": {"email": 12345678}}'))
    assert "12345678" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="not found"):
        load_subject(tmp_path / "absent.json")


def test_parse_subject_rejects_non_objects() -> None:
    with pytest.raises(EngineError):
        parse_subject("Jane")
