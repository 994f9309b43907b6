"""Pydantic shapes for erasure requests (API bodies and responses; the pages reuse RequestCreate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

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


class RequestCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    full_name: str = Field(min_length=1, max_length=MAX_NAME)
    email: EmailStr = Field(max_length=MAX_EMAIL)
    phone: str | None = Field(default=None, max_length=MAX_PHONE)
    postal_address: str | None = Field(default=None, max_length=MAX_ADDRESS)
    other_identifiers: str | None = Field(default=None, max_length=MAX_OTHER)
    details: str | None = Field(default=None, max_length=MAX_DETAILS)
    target_model: str | None = Field(default=None, max_length=MAX_TARGET)

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
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    ground: ErasureGround
    note: str | None = Field(default=None, max_length=MAX_REASON)


class DenyBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    ground: DenialGround
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class ExtendBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    months: int = Field(ge=1, le=2)
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class CancelBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    reason: str | None = Field(default=None, max_length=MAX_REASON)
