"""What a data subject submits: a name, optional identifiers, optional texts about them."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workers.engine.errors import EngineError


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    identifiers: dict[str, str] = Field(default_factory=dict)
    texts: list[str] = Field(default_factory=list)

    @field_validator("identifiers")
    @classmethod
    def _clean_identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for key, item in value.items():
            key_clean, item_clean = key.strip().lower(), item.strip()
            if not key_clean:
                raise ValueError("identifier kinds must be non-empty")
            if item_clean:
                cleaned[key_clean] = item_clean
        return cleaned

    @field_validator("texts")
    @classmethod
    def _drop_blank_texts(cls, value: list[str]) -> list[str]:
        return [text.strip() for text in value if text.strip()]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "file"
    return f"{where}: {err['msg']}"


def parse_subject(data: object) -> Subject:
    """Validate already-decoded JSON; the error names the field, never its value."""
    if not isinstance(data, dict):
        raise EngineError("subject must be a JSON object with at least a non-empty 'name'")
    try:
        return Subject.model_validate(data)
    except ValidationError as exc:
        raise EngineError(f"invalid subject: {_first_error(exc)}") from None


def load_subject(path: str | Path) -> Subject:
    file = Path(path)
    if not file.is_file():
        raise EngineError(f"subject file not found: {file}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise EngineError(f"subject file is not UTF-8 text: {file}") from None
    except json.JSONDecodeError as exc:
        raise EngineError(f"subject file is not valid JSON ({exc.msg}, line {exc.lineno}): {file}") from None
    return parse_subject(data)
