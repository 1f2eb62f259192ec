"""Periods of publication tasks: when a period's data is formed and when it is due (条例第26条)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from gkflow.domain.calendar import DueDate
from gkflow.domain.deadlines import Calendar
from gkflow.domain.errors import InvalidInput

# Proactive disclosure within 20 working days of the information being formed (条例第26条).
DUE_WORKING_DAYS = 20


class Cadence(StrEnum):
    MONTHLY = "monthly"  # YYYY-MM
    QUARTERLY = "quarterly"  # YYYY-Qn
    ANNUAL = "annual"  # YYYY, due by 31 January of the next year
    EVENT = "event"  # YYYY-MM-DD: the day a milestone is reached


_PATTERNS = {
    Cadence.MONTHLY: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    Cadence.QUARTERLY: re.compile(r"^(\d{4})-Q([1-4])$"),
    Cadence.ANNUAL: re.compile(r"^(\d{4})$"),
    Cadence.EVENT: re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
}
_EXAMPLES = {Cadence.MONTHLY: "2026-10", Cadence.QUARTERLY: "2026-Q3", Cadence.ANNUAL: "2025",
             Cadence.EVENT: "2026-10-15"}


@dataclass(frozen=True, order=True)
class Period:
    cadence: Cadence
    first_day: date
    last_day: date  # the day its data is formed
    label: str

    def __str__(self) -> str:
        return self.label

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def next(self) -> Period:
        return period_containing(self.cadence, self.last_day + timedelta(days=1))

    def previous(self) -> Period:
        return period_containing(self.cadence, self.first_day - timedelta(days=1))


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def parse_period(cadence: Cadence, text: str) -> Period:
    match = _PATTERNS[cadence].match(text.strip())
    if not match:
        raise InvalidInput(f"period '{text}' is not a {cadence.value} period (e.g. {_EXAMPLES[cadence]})")
    if cadence is Cadence.MONTHLY:
        year, month = int(match[1]), int(match[2])
        return Period(cadence, date(year, month, 1), _month_end(year, month), f"{year:04d}-{month:02d}")
    if cadence is Cadence.QUARTERLY:
        year, quarter = int(match[1]), int(match[2])
        first_month = 3 * quarter - 2
        return Period(cadence, date(year, first_month, 1), _month_end(year, first_month + 2),
                      f"{year:04d}-Q{quarter}")
    if cadence is Cadence.ANNUAL:
        year = int(match[1])
        return Period(cadence, date(year, 1, 1), date(year, 12, 31), f"{year:04d}")
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise InvalidInput(f"period '{text}' is not a real date") from None
    return Period(cadence, day, day, day.isoformat())


def period_containing(cadence: Cadence, day: date) -> Period:
    if cadence is Cadence.MONTHLY:
        return parse_period(cadence, f"{day.year:04d}-{day.month:02d}")
    if cadence is Cadence.QUARTERLY:
        return parse_period(cadence, f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}")
    if cadence is Cadence.ANNUAL:
        return parse_period(cadence, f"{day.year:04d}")
    return parse_period(cadence, day.isoformat())


def last_formed(cadence: Cadence, today: date) -> Period:
    """The latest period whose data was formed before ``today`` (its last day has passed)."""
    return period_containing(cadence, today).previous()


def periods_between(first: Period, last: Period) -> list[Period]:
    if first.cadence is not last.cadence:
        raise InvalidInput("both ends of a range must be periods of the same kind")
    if last < first:
        raise InvalidInput(f"the range {first} .. {last} is empty: {last} comes before {first}")
    periods, current = [], first
    while current <= last:
        periods.append(current)
        current = current.next()
    return periods


def due_date(period: Period, calendar: Calendar) -> DueDate:
    """Due 20 working days after the day the data is formed; the annual report by 31 January."""
    if period.cadence is Cadence.ANNUAL:
        return DueDate(date(period.last_day.year + 1, 1, 31), False)
    return calendar.add_working_days(period.last_day, DUE_WORKING_DAYS)
