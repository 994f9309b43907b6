from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field


class OfficerPassword(BaseModel):
    password: str = Field(min_length=12, max_length=256)


class OfficerCreate(OfficerPassword):
    email: EmailStr = Field(max_length=254)
    name: str = Field(min_length=1, max_length=120)
