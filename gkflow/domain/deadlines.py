"""Legal time limits as a clock that can stop, resume, restart and be extended (时限/中止/延期).

Counting follows DOMAIN.md: the day something is received is not counted, "N days after D" is the
N-th counting day strictly after D. A clock that stops on day S has used the days up to and
including S; after resuming on day R it counts again from the day after R.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from gkflow.domain.calendar import DueDate
from gkflow.domain.items import Limit, LimitUnit


class Calendar(Protocol):
    def add_working_days(self, start: date, n: int) -> DueDate: ...
    def add_calendar_days(self, start: date, n: int) -> DueDate: ...
    def working_days_between(self, after: date, through: date) -> tuple[int, bool]: ...
    def calendar_days_between(self, after: date, through: date) -> tuple[int, bool]: ...


@dataclass(frozen=True)
class LimitClock:
    """One limit (statutory or promised) of one case."""

    limit: Limit  # days include any extension
    anchor: date  # counting starts the day after the anchor
    used: int = 0  # days consumed before the anchor
    running: bool = True

    def due(self, calendar: Calendar) -> DueDate | None:
        if not self.running:
            return None
        return add_days(calendar, self.limit.unit, self.anchor, max(self.limit.days - self.used, 0))

    def used_through(self, calendar: Calendar, day: date) -> tuple[int, bool]:
        """Days used by the end of ``day`` (stopped clocks do not advance)."""
        if not self.running:
            return self.used, False
        counted, provisional = days_between(calendar, self.limit.unit, self.anchor, day)
        return self.used + counted, provisional

    def stop(self, calendar: Calendar, on: date) -> LimitClock:
        if not self.running:
            return self
        used, _ = self.used_through(calendar, on)
        return replace(self, used=used, anchor=on, running=False)

    def resume(self, on: date) -> LimitClock:
        if self.running:
            return self
        # A reply dated before its request must not count the days in between twice: counting
        # never restarts before the day the clock stopped (the service refuses such a step too).
        return replace(self, anchor=max(on, self.anchor), running=True)

    def restart(self, on: date) -> LimitClock:
        return replace(self, anchor=on, used=0, running=True)

    def extend(self, days: int) -> LimitClock:
        return replace(self, limit=Limit(self.limit.days + days, self.limit.unit))


def add_days(calendar: Calendar, unit: LimitUnit, start: date, n: int) -> DueDate:
    """The due date ``days`` working or calendar days after ``start`` (the start day not counted)."""
    if unit is LimitUnit.WORKING:
        return calendar.add_working_days(start, n)
    return calendar.add_calendar_days(start, n)


def days_between(calendar: Calendar, unit: LimitUnit, after: date, through: date) -> tuple[int, bool]:
    """Days from ``start`` to ``end`` in the limit's unit, and whether any is provisional."""
    if unit is LimitUnit.WORKING:
        return calendar.working_days_between(after, through)
    return calendar.calendar_days_between(after, through)


class WarningLevel:
    YELLOW = "yellow"
    RED = "red"


def warning_level(
    clock: LimitClock, due: DueDate | None, today: date, calendar: Calendar, yellow_share: float
) -> str | None:
    """红黄牌: red once the due date has passed, yellow once ``yellow_share`` of the limit is used."""
    if not clock.running or due is None:
        return None
    if today > due.date:
        return WarningLevel.RED
    if clock.limit.days <= 0:
        return None
    used, _ = clock.used_through(calendar, today)
    if used >= clock.limit.days * yellow_share:
        return WarningLevel.YELLOW
    return None


def days_left(clock: LimitClock, due: DueDate | None, today: date, calendar: Calendar) -> int | None:
    """Counting days left until the due date (negative when overdue); None while stopped."""
    if not clock.running or due is None:
        return None
    if today <= due.date:
        left, _ = days_between(calendar, clock.limit.unit, today, due.date)
        return left
    over, _ = days_between(calendar, clock.limit.unit, due.date, today)
    return -over
