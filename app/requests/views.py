"""Turn ``ErasureRequest`` rows into API response models (computed fields need ``now``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from app.core.db import utcnow
from app.requests import service
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestDetail, RequestRead, SubjectIdentifiersRead

# Officer-written text: a reason may quote the subject ("denied: Ada Lovelace's posts are journalism"), so it is
# shown only to those who may read the subject's identifiers.
OFFICER_TEXT = ("extension_reason", "decision_reason", "cancel_reason")
_READ_FIELDS = tuple(n for n in RequestRead.model_fields if n not in {"days_left", "overdue", "officer_text_redacted"})


def to_read(request: ErasureRequest, *, with_text: bool, now: datetime | None = None) -> RequestRead:
    """The request as the API shows it; without ``with_text`` the officer-written reasons are left out (and said
    to be: ``officer_text_redacted``)."""
    now = now or utcnow()
    values = {name: getattr(request, name) for name in _READ_FIELDS}
    redacted = not with_text and any(values[name] for name in OFFICER_TEXT)
    if not with_text:
        values.update(dict.fromkeys(OFFICER_TEXT))
    return RequestRead(**values, days_left=request.days_left(now), overdue=request.is_overdue(now),
                       officer_text_redacted=redacted)


def to_detail(request: ErasureRequest, *, with_identifiers: bool, now: datetime | None = None) -> RequestDetail:
    """With ``with_identifiers`` (keys with requests:read) the subject's identifiers and the officers' reasons."""
    identifiers = SubjectIdentifiersRead(**asdict(service.identifiers(request))) if with_identifiers else None
    return RequestDetail(**to_read(request, with_text=with_identifiers, now=now).model_dump(), identifiers=identifiers)
