"""The audit actor of an API key, for the /api/v1 routers (their error answers: ``app.core.responses``)."""

from __future__ import annotations

from app.apikeys.models import ApiKey


def actor(key: ApiKey) -> str:
    return f"apikey:{key.id}"
