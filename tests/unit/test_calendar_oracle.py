"""A property test against an independent oracle built only on `chinese_calendar.is_workday`:
random (date, N) pairs in 2004-2026, in working days and in calendar days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from gkflow.config.calendar import load_calendar

CALENDAR = load_calendar(Path(__file__).resolve().parents[2] / "config")
LAST = date(2026, 12, 31)


def oracle_working(start: date, n: int) -> date:
    """The n-th working day strictly after start (start itself for n = 0), one day at a time."""
    day, found = start, 0
    while found < n:
        day += timedelta(days=1)
        found += chinese_calendar.is_workday(day)
    return day


def oracle_calendar(start: date, n: int) -> date:
    """start + n days, moved to the next working day while it is a day off."""
    day = start + timedelta(days=n)
    while not chinese_calendar.is_workday(day):
        day += timedelta(days=1)
    return day


# Starts early enough that even 120 working days (or calendar days) stay inside 2026, the last
# year chinese-calendar 1.11 knows.
starts = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 5, 31))


@settings(max_examples=600, deadline=None)
@given(start=starts, n=st.integers(min_value=0, max_value=120))
def test_working_days_agree_with_the_oracle(start: date, n: int) -> None:
    due = CALENDAR.add_working_days(start, n)
    assert due.date <= LAST
    assert due.date == oracle_working(start, n) and not due.provisional


@settings(max_examples=600, deadline=None)
@given(start=starts, n=st.integers(min_value=0, max_value=120))
def test_calendar_days_agree_with_the_oracle(start: date, n: int) -> None:
    due = CALENDAR.add_calendar_days(start, n)
    assert due.date == oracle_calendar(start, n) and not due.provisional
