"""Pydantic shapes for erasure requests (API bodies and responses; the pages reuse RequestCreate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, field_validator

from app.core.fields import TEXT_CONFIG, optional_text, required_text
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.statuses import RequestStatus

MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 40
MAX_ADDRESS = 500
MAX_OTHER = 1000
MAX_DETAILS = 5000
MAX_TARGET = 200
MAX_REASON = 2000
# Paging through the API: far above any real number of requests, far below PostgreSQL's bigint.
MAX_OFFSET = 10_000_000

# Lengths are checked on the text as sent, then it is stripped (see app.core.fields).
Reason = required_text(MAX_REASON, "Read by the subject; at least one visible character.", lines=True)
OptionalReason = optional_text(MAX_REASON, lines=True)


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


# The special-use domains (RFC 6761 and the like) that email-validator refuses, stated for the OpenAPI description
# (the value itself is checked by email-validator, which also refuses them).
_RESERVED_DOMAINS = "|".join(_any_case(name) for name in sorted(SPECIAL_USE_DOMAIN_NAMES, key=len, reverse=True))
EMAIL_PATTERN = rf"^(?!.*@(?:[^@]*\.)?(?:{_RESERVED_DOMAINS})\.?$)"


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class RequestCreate(BaseModel):
    model_config = TEXT_CONFIG

    full_name: required_text(MAX_NAME)  # type: ignore[valid-type]
    # Stripped first: a pasted address often ends with a space.
    email: Annotated[EmailStr, BeforeValidator(_strip)] = Field(
        max_length=MAX_EMAIL, json_schema_extra={"pattern": EMAIL_PATTERN},
        description="An address that can receive mail: not in a special-use domain such as .test or .local.")
    phone: optional_text(MAX_PHONE) | None = None  # type: ignore[valid-type]
    postal_address: optional_text(MAX_ADDRESS, lines=True) | None = None  # type: ignore[valid-type]
    other_identifiers: optional_text(MAX_OTHER, lines=True) | None = None  # type: ignore[valid-type]
    details: optional_text(MAX_DETAILS, lines=True) | None = None  # type: ignore[valid-type]
    target_model: optional_text(MAX_TARGET) | None = None  # type: ignore[valid-type]

    @field_validator("phone", "postal_address", "other_identifiers", "details", "target_model", mode="after")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


@dataclass(frozen=True)
class SubjectIdentifiers:
    full_name: str
    email: str
    phone: str | None
    postal_address: str | None
    other_identifiers: str | None
    details: str | None


class SubjectIdentifiersRead(BaseModel):
    full_name: str
    email: str
    phone: str | None
    postal_address: str | None
    other_identifiers: str | None
    details: str | None


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    reference: str
    status: RequestStatus
    channel: str
    received_at: datetime
    verified_at: datetime | None
    due_at: datetime
    original_due_at: datetime
    days_left: int
    overdue: bool
    extended: bool
    extension_months: int | None
    extension_reason: str | None
    decision_ground: str | None
    decision_reason: str | None
    decided_at: datetime | None
    decided_by: str | None
    cancel_reason: str | None
    target_model: str | None
    duplicate_of_id: str | None
    created_at: datetime
    updated_at: datetime
    officer_text_redacted: bool = Field(
        default=False, description="True when the officers' reasons exist but are left out: they may quote the "
                                   "subject, so only keys with requests:read see them.")


class RequestDetail(RequestRead):
    identifiers: SubjectIdentifiersRead | None = Field(
        default=None, description="Decrypted identifiers; present only for keys with requests:read."
    )


class RequestCreated(RequestDetail):
    status_token: str = Field(description="Secret for the subject's status link; returned once, stored hashed.")
    status_url: str


class RequestPage(BaseModel):
    items: list[RequestRead]
    total: int
    limit: int
    offset: int


class ApproveBody(BaseModel):
    model_config = TEXT_CONFIG
    ground: ErasureGround
    note: OptionalReason | None = None  # type: ignore[valid-type]


class DenyBody(BaseModel):
    model_config = TEXT_CONFIG
    ground: DenialGround
    reason: Reason  # type: ignore[valid-type]


class ExtendBody(BaseModel):
    model_config = TEXT_CONFIG
    months: int = Field(ge=1, le=2)
    reason: Reason  # type: ignore[valid-type]


class CancelBody(BaseModel):
    model_config = TEXT_CONFIG
    reason: OptionalReason | None = None  # type: ignore[valid-type]
