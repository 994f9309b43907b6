"""Art. 12(3) deadlines: one calendar month from receipt, extendable once by at most two months."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

MAX_EXTENSION_MONTHS = 2
RESPONSE_MONTHS = 1


def add_months(dt: datetime, n: int) -> datetime:
    """Same day ``n`` calendar months later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    month_index = dt.month - 1 + n
    year, month = dt.year + month_index // 12, month_index % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("deadlines need timezone-aware datetimes")
    return dt.astimezone(UTC)


def due_date(received_at: datetime) -> datetime:
    return add_months(_utc(received_at), RESPONSE_MONTHS)


def days_left(due: datetime, now: datetime) -> int:
    """Whole UTC calendar days until ``due`` (0 = due today, negative = overdue by that many days)."""
    return (_utc(due).date() - _utc(now).date()).days


def describe_days_left(days: int) -> str:
    if days == 0:
        return "due today"
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} left"
    return f"{-days} day{'s' if days != -1 else ''} overdue"
