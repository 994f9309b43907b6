"""Bounded strings for the API's bodies and parameters, with every constraint stated in the OpenAPI description.

A value the schema allows is one the server accepts: lengths are checked on the value as sent (then it is
stripped), "required" text must hold a non-blank character (a pattern says so), and no text may hold NUL,
which PostgreSQL cannot store. Bodies validate their patterns with Python's ``re`` (``TEXT_CONFIG``), the
engine OpenAPI tools such as schemathesis use, so ``\\s`` and ``$`` mean the same on both sides; path and
query parameters only use the NUL pattern, which means the same in every regex engine.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, ConfigDict, Field

# No NUL anywhere (PostgreSQL text cannot hold it).
NO_NUL = r"^[^\x00]*$"
# No NUL, and at least one character that is not white space.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"

# The model config of a body with text fields: patterns with Python's re; extra fields refused.
TEXT_CONFIG = ConfigDict(extra="forbid", regex_engine="python-re")

# Ids in paths: a UUID (36), or a model's name (at most 80).
MAX_ID = 80


def _strip_required(value: str) -> str:
    value = value.strip()
    if not value:  # unreachable through NOT_BLANK; kept so that a change of pattern cannot let blank text in
        raise ValueError("must hold a non-blank character")
    return value


def _strip_or_none(value: str) -> str | None:
    return value.strip() or None


def required_text(max_length: int, description: str | None = None) -> Any:
    """Text that must hold a non-blank character; surrounding white space is removed after validation."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=NOT_BLANK, description=description),
                     AfterValidator(_strip_required)]


def optional_text(max_length: int, description: str | None = None) -> Any:
    """Text that may be blank (then it is stored as nothing); surrounding white space is removed."""
    return Annotated[str, Field(max_length=max_length, pattern=NO_NUL, description=description),
                     AfterValidator(_strip_or_none)]


def token(max_length: int = MAX_ID, description: str | None = None) -> Any:
    """An identifier inside a body (a request id, an attribute key): no NUL, not empty, bounded."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=NO_NUL, description=description)]


def path_id(description: str) -> Any:
    """An id (or name) in the path: unknown ones answer 404, malformed ones (too long, NUL) 422."""
    return Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL, description=description)]
