"""Idempotency keys: a caller that retries a create after a timeout gets the first answer, and nothing twice.

A POST that creates something takes an ``Idempotency-Key`` header (the IETF draft's name). The first call with a
key runs and its answer (status and body) is kept, encrypted, for 24 hours; a retry with the same key and the
same body gets that answer again (``Idempotent-Replayed: true``) and creates nothing; the same key with another
body is a 409. Two calls with one key at the same moment: the database's unique index makes the second wait for
the first and then replay its answer. Keys are per caller (an API key), so one caller cannot read another's
answers by guessing keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict
from app.core.security import decrypt, encrypt
from app.idempotency.models import IdempotencyRecord

TTL = timedelta(hours=24)
MAX_KEY = 255

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=MAX_KEY, pattern=r"^[\x21-\x7e]+$",
    description="Optional. A retry with the same key and body within 24 hours returns the first answer and creates "
                "nothing; the same key with another body is a 409 (idempotency_key_reused).")]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _find(session: Session, caller: str, operation: str, key_hash: str) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.caller == caller, IdempotencyRecord.operation == operation,
        IdempotencyRecord.key_hash == key_hash, IdempotencyRecord.created_at >= utcnow() - TTL))


def _json_replay(content: Any, status_code: int) -> Response:
    return JSONResponse(status_code=status_code, content=content, headers={"Idempotent-Replayed": "true"})


def _replay(record: IdempotencyRecord, body_hash: str, settings: Settings,
            replay: Callable[[Any, int], Response]) -> Response:
    if record.body_hash != body_hash:
        raise Conflict("This Idempotency-Key was already used with another body; use a new key for a new call.",
                       code="idempotency_key_reused")
    return replay(json.loads(decrypt(record.response_enc, settings=settings)), record.status_code)


def idempotent(*, session: Session, settings: Settings, caller: str, operation: str, key: str | None,
               body: BaseModel | dict[str, Any] | None, status_code: int, produce: Callable[[], Any],
               replay: Callable[[Any, int], Response] = _json_replay) -> Any:
    """``produce()``'s answer, or with a ``key`` seen before for this caller and operation, the first answer as
    ``replay(content, status_code)`` makes it (a JSON answer by default; a page makes its redirect again)."""
    if key is None:
        return produce()
    key_hash = _sha(key)
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else (body or {})
    body_hash = _sha(json.dumps(payload, sort_keys=True, ensure_ascii=False))
    found = _find(session, caller, operation, key_hash)
    if found is not None:
        return _replay(found, body_hash, settings, replay)
    result = produce()
    content = jsonable_encoder(result)
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - TTL))
    savepoint = session.begin_nested()
    try:
        session.add(IdempotencyRecord(caller=caller, operation=operation, key_hash=key_hash, body_hash=body_hash,
                                      status_code=status_code,
                                      response_enc=encrypt(json.dumps(content), settings=settings)))
        session.flush()
    except IntegrityError:
        # Another call with this key committed while this one ran: its answer stands, and nothing of this one may.
        savepoint.rollback()
        session.rollback()
        found = _find(session, caller, operation, key_hash)
        if found is None:
            raise
        return _replay(found, body_hash, settings, replay)
    savepoint.commit()
    return result
