"""OpenAPI documentation of the one error shape, and the audit actor of an API key, for the /api/v1 routers."""

from __future__ import annotations

from typing import Any

from app.apikeys.models import ApiKey
from app.core.handlers import error_body

_SCHEMA: dict[str, Any] = {
    "content": {"application/json": {"example": error_body("not_found", "No such job.", {"job_id": "..."})}}
}
ERRORS: dict[int | str, dict[str, Any]] = {401: _SCHEMA, 403: _SCHEMA, 422: _SCHEMA}
ITEM_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 404: _SCHEMA, 409: _SCHEMA}


def actor(key: ApiKey) -> str:
    return f"apikey:{key.id}"
