"""Turn ``ErasureRequest`` rows into API response models (computed fields need ``now``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from app.core.db import utcnow
from app.requests import service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestDetail, RequestRead, SubjectIdentifiersRead

_READ_FIELDS = tuple(n for n in RequestRead.model_fields if n not in {"days_left", "overdue"})


def to_read(request: ErasureRequest, *, now: datetime | None = None) -> RequestRead:
    now = now or utcnow()
    values = {name: getattr(request, name) for name in _READ_FIELDS}
    return RequestRead(**values, days_left=request.days_left(now), overdue=request.is_overdue(now))


def to_detail(request: ErasureRequest, *, with_identifiers: bool, now: datetime | None = None) -> RequestDetail:
    identifiers = SubjectIdentifiersRead(**asdict(service.identifiers(request))) if with_identifiers else None
    return RequestDetail(**to_read(request, now=now).model_dump(), identifiers=identifiers)
