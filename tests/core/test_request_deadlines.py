from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.requests.deadlines import add_months, days_left, describe_days_left, due_date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (utc(2025, 1, 31, 10), utc(2025, 2, 28, 10)),  # clamps to the end of a short month
        (utc(2024, 1, 31, 10), utc(2024, 2, 29, 10)),  # leap year
        (utc(2000, 1, 30), utc(2000, 2, 29)),  # divisible by 400: leap
        (utc(2100, 1, 29), utc(2100, 2, 28)),  # divisible by 100 only: not leap
        (utc(2025, 3, 31), utc(2025, 4, 30)),
        (utc(2025, 4, 30), utc(2025, 5, 30)),  # not moved to the end of May
        (utc(2025, 12, 15, 23, 59), utc(2026, 1, 15, 23, 59)),  # year boundary
        (utc(2024, 2, 29), utc(2024, 3, 29)),
    ],
)
def test_due_date_is_one_calendar_month(received: datetime, due: datetime) -> None:
    assert due_date(received) == due


def test_due_date_is_computed_in_utc() -> None:
    # 00:30 on 1 March in UTC+2 is still 28 February in UTC: the month is counted from the UTC date.
    received = datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert due_date(received) == utc(2025, 3, 28, 22, 30)
    assert due_date(received).tzinfo == UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        due_date(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (utc(2025, 1, 31), 2, utc(2025, 3, 31)),
        (utc(2025, 2, 28), 2, utc(2025, 4, 28)),
        (utc(2023, 12, 31), 2, utc(2024, 2, 29)),
        (utc(2025, 11, 30), 3, utc(2026, 2, 28)),
        (utc(2025, 5, 31), -1, utc(2025, 4, 30)),
    ],
)
def test_add_months(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_days_left_counts_utc_calendar_days() -> None:
    due = utc(2025, 2, 28, 10)
    assert days_left(due, utc(2025, 2, 20, 23)) == 8
    assert days_left(due, utc(2025, 2, 28, 23, 59)) == 0
    assert days_left(due, utc(2025, 3, 3, 1)) == -3


@pytest.mark.parametrize(
    ("days", "text"), [(0, "due today"), (1, "1 day left"), (5, "5 days left"), (-1, "1 day overdue"), (-4, "4 days overdue")]
)
def test_describe_days_left(days: int, text: str) -> None:
    assert describe_days_left(days) == text
