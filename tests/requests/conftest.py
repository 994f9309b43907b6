from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from app.requests import service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate

T0 = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def make_request(session: Session) -> Callable[..., ErasureRequest]:
    counter = iter(range(10_000))

    def factory(*, verified: bool = True, email: str | None = None, now: datetime = T0, **fields: str) -> ErasureRequest:
        data = RequestCreate(
            full_name=fields.pop("full_name", "Ada Lovelace"),
            email=email or f"subject{next(counter)}@example.org",
            **fields,
        )
        return service.create_request(
            session=session, data=data, channel="api" if verified else "web", verified=verified,
            actor="apikey:test" if verified else None, now=now,
        ).request

    return factory
