"""Create and authenticate officers (argon2 passwords)."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.security import hash_password, verify_password
from app.officers.models import Officer
from app.officers.schemas import OfficerCreate


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def create_officer(*, session: Session, email: str, password: str, name: str) -> Officer:
    try:
        data = OfficerCreate(email=email.strip(), password=password, name=name.strip())
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors()})
        raise InvalidInput(
            "Officer needs a valid email, a name and a password of at least 12 characters.",
            details={"fields": fields},
        ) from None
    address = _normalise_email(str(data.email))
    if session.scalar(select(Officer.id).where(Officer.email == address)):
        raise Conflict("An officer with this email already exists.", code="duplicate_officer")
    officer = Officer(
        id=str(uuid.uuid4()), email=address, display_name=data.name, password_hash=hash_password(data.password)
    )
    session.add(officer)
    session.flush()
    audit_service.append(session=session, event="officer.created", actor="system", details={"officer_id": officer.id})
    return officer


def authenticate(*, session: Session, email: str, password: str) -> Officer | None:
    officer = session.scalar(select(Officer).where(Officer.email == _normalise_email(email)))
    # verify_password always runs argon2 (against a dummy hash when the account is unknown).
    ok = verify_password(password, officer.password_hash if officer else None)
    if officer is None or not ok or not officer.active:
        return None
    officer.last_login_at = utcnow()
    session.flush()
    audit_service.append(session=session, event="officer.signed_in", actor=f"officer:{officer.id}")
    return officer


def get_officer(*, session: Session, officer_id: str) -> Officer:
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise NotFound("No such officer.")
    return officer


def count_officers(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Officer)) or 0
