"""Helpers for the request tests (not a test module)."""

import re
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.notifications import service as notification_service

T0 = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)


def emailed_code(session: Session, request_id: str) -> str:
    """The code from the newest verification email, read from the outbox as the subject would."""
    messages = [m for m in notification_service.list_outbox(session=session, request_id=request_id)
                if m.kind == "verification_code"]
    match = re.search(r"code is: (\d{6})", messages[0].body)
    assert match, "no code in the verification email"
    return match.group(1)
