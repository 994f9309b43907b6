"""Bounded strings for the API's bodies and parameters, with every constraint stated in the OpenAPI description.

A value the schema allows is one the server accepts: lengths are checked on the value as sent (then it is
normalised to NFC and stripped), "required" text must hold a visible character, and human-entered text may hold
no control character and no invisible formatting character (a pattern states exactly which; a single-line field
no line break either), so that a name cannot be spoofed with a right-to-left override or made of zero-width
spaces. Tokens and ids may hold no NUL, which PostgreSQL cannot store. Bodies validate their patterns with Python's ``re`` (``TEXT_CONFIG``), the
engine OpenAPI tools such as schemathesis use, so ``\\s`` and ``$`` mean the same on both sides; path and
query parameters only use the NUL pattern, which means the same in every regex engine.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, ConfigDict, Field

# No NUL anywhere (PostgreSQL text cannot hold it): ids and other tokens.
NO_NUL = r"^[^\x00]*$"
# No NUL, and at least one character that is not white space.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"

# The model config of a body with text fields: patterns with Python's re; extra fields refused.
TEXT_CONFIG = ConfigDict(extra="forbid", regex_engine="python-re")

# Ids in paths: a UUID (36), or a model's name (at most 80).
MAX_ID = 80

# Planes that hold control (Cc) or format (Cf) characters: the Basic and Supplementary Multilingual, and Tags.
_PLANES = (range(0x0000, 0x20000), range(0xE0000, 0xE1000))


def _refused(*, lines: bool) -> str:
    """A regex character-class body of what human-entered text may not hold: control characters (C0, DEL, C1; a
    multi-line field keeps tab, line feed and carriage return), format characters such as the bidi overrides and
    zero-width marks, which make text look other than it is, and U+FFFD, what invalid UTF-8 decodes to."""
    keep = {"\t", "\n", "\r"} if lines else set()
    points = [cp for plane in _PLANES for cp in plane
              if (unicodedata.category(chr(cp)) in ("Cc", "Cf") and chr(cp) not in keep) or cp == 0xFFFD]
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    escape = lambda cp: f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"  # noqa: E731
    return "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges)


_ONE_LINE, _LINES = _refused(lines=False), _refused(lines=True)
# What the OpenAPI description states and the server checks, the same sets on both sides (Python's re).
ONE_LINE_TEXT = rf"^[^{_ONE_LINE}]*$"
ONE_LINE_REQUIRED = rf"^[^{_ONE_LINE}]*[^{_ONE_LINE}\s][^{_ONE_LINE}]*$"
LINES_TEXT = rf"^[^{_LINES}]*$"
LINES_REQUIRED = rf"^[^{_LINES}]*[^{_LINES}\s][^{_LINES}]*$"
_FIRST_REFUSED = {False: re.compile(f"[{_ONE_LINE}]"), True: re.compile(f"[{_LINES}]")}


def _policy(value: str, *, lines: bool, required: bool) -> str:
    """One text policy for every human-entered field: no control or invisible formatting character (the message
    names the code point, never the text), NFC, no surrounding white space, and a visible character if required."""
    bad = _FIRST_REFUSED[lines].search(value)
    if bad:
        kind = "line break" if bad.group() in "\r\n" else "control or invisible formatting character"
        raise ValueError(f"must not hold a {kind} (U+{ord(bad.group()):04X})")
    value = unicodedata.normalize("NFC", value).strip()
    if required and not value:
        raise ValueError("must hold a visible character")
    return value


def _strip_or_none(value: str | None) -> str | None:
    return value or None


def required_text(max_length: int, description: str | None = None, *, lines: bool = False) -> Any:
    """Text that must hold a visible character, under the one text policy (``_policy``); ``lines``: it may hold
    line breaks and tabs."""
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description,
                                json_schema_extra={"pattern": LINES_REQUIRED if lines else ONE_LINE_REQUIRED}),
                     AfterValidator(lambda v: _policy(v, lines=lines, required=True))]


def optional_text(max_length: int, description: str | None = None, *, lines: bool = False) -> Any:
    """Text that may be blank (then it is stored as nothing), under the one text policy."""
    return Annotated[str, Field(max_length=max_length, description=description,
                                json_schema_extra={"pattern": LINES_TEXT if lines else ONE_LINE_TEXT}),
                     AfterValidator(lambda v: _strip_or_none(_policy(v, lines=lines, required=False)))]


def token(max_length: int = MAX_ID, description: str | None = None) -> Any:
    """An identifier inside a body (a request id, an attribute key): no NUL, not empty, bounded."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=NO_NUL, description=description)]


def path_id(description: str) -> Any:
    """An id (or name) in the path: unknown ones answer 404, malformed ones (too long, NUL) 422."""
    return Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL, description=description)]
