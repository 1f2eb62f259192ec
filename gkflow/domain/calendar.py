"""China's working-day calendar (工作日 with 调休 make-up days), pure and precomputed per year.

A year is either *official* (its State Council holiday notice is loaded as a `YearSchedule`) or
*provisional* (weekends plus the statutory holidays of 全国年节及纪念日放假办法, with a holiday
that falls on a weekend made up on the next working day as its Art. 6 says, and no 调休 make-up
working days).
Years before the earliest official year are unknown and raise `CalendarUnknownYear`; every result
that touches a provisional year says so (`provisional=True`), so nothing is silently guessed.

Each method consults the years from its earliest to its latest date argument or result (both
included; `calendar_days_between` only its two ends), and its result is provisional if any of
them is provisional.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from gkflow.domain.errors import CalendarUnknownYear, InvalidConfig, InvalidInput

__all__ = [
    "FESTIVAL_KEYS",
    "MAX_DAYS",
    "DueDate",
    "FixedHolidayRule",
    "InvalidDayCount",
    "WorkingCalendar",
    "YearSchedule",
]

# The lunar / solar-term festivals whose dates come from outside the domain (the stdlib has no
# lunar calendar): gkflow.config.calendar computes them with lunar-python for any year.
FESTIVAL_KEYS: frozenset[str] = frozenset({"spring_festival", "qingming", "dragon_boat", "mid_autumn"})

# Upper bound on N for add_* (100 years): far beyond any legal time limit, and it keeps a typo
# like 20000000 from walking the calendar to date.max.
MAX_DAYS = 36_500


class InvalidDayCount(InvalidInput, ValueError):
    """A day count that is negative or absurdly large (code `invalid_input`; also a ValueError)."""


@dataclass(frozen=True)
class DueDate:
    date: date
    # True when any day consulted lies in a year whose official schedule is not loaded
    provisional: bool


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule, as published in the State Council's notice."""

    year: int
    holidays: frozenset[date]  # days off (every day of the official holiday blocks, incl. weekends)
    workdays: frozenset[date]  # make-up working days (调休) that fall on weekends

    def __post_init__(self) -> None:
        for kind, days in (("holiday", self.holidays), ("make-up workday", self.workdays)):
            outside = sorted(d for d in days if d.year != self.year)
            if outside:
                raise InvalidConfig(
                    f"{self.year} schedule: {kind} {outside[0].isoformat()} is not in {self.year}"
                )
        both = sorted(self.holidays & self.workdays)
        if both:
            raise InvalidConfig(
                f"{self.year} schedule: {both[0].isoformat()} is both a holiday and a workday"
            )
        # A make-up workday on a weekday changes nothing, so it can only be a typo.
        weekdays = sorted(d for d in self.workdays if d.weekday() < 5)
        if weekdays:
            raise InvalidConfig(
                f"{self.year} schedule: make-up workday {weekdays[0].isoformat()} "
                f"is a {weekdays[0].strftime('%A')}, not a weekend day"
            )


@dataclass(frozen=True)
class FixedHolidayRule:
    """The statutory holidays, without the yearly notice's bridges and make-up days.

    Defaults are 全国年节及纪念日放假办法 as amended with effect from 2025-01-01. Fixed-date
    holidays are (month, day) pairs; festival holidays are day offsets from a festival date that
    the caller supplies per year (e.g. Spring Festival: New Year's Eve through the third day).
    """

    fixed: tuple[tuple[int, int], ...] = (
        (1, 1),  # New Year's Day
        (5, 1),  # Labour Day, 2 days
        (5, 2),
        (10, 1),  # National Day, 3 days
        (10, 2),
        (10, 3),
    )
    festivals: tuple[tuple[str, tuple[int, ...]], ...] = (
        ("spring_festival", (-1, 0, 1, 2)),
        ("qingming", (0,)),
        ("dragon_boat", (0,)),
        ("mid_autumn", (0,)),
    )

    def holidays(self, year: int, festival_dates: Mapping[str, date] | None = None) -> frozenset[date]:
        """Statutory days off in `year` (lunar festivals for the keys present in the data), with
        Art. 6's make-up days: every one of these is a holiday of all citizens, so each that falls
        on a Saturday or Sunday is made up on the first weekday after it that is not already off."""
        days = {date(year, month, day) for month, day in self.fixed}
        if festival_dates:
            for key, offsets in self.festivals:
                anchor = festival_dates.get(key)
                if anchor is not None:
                    days.update(anchor + timedelta(days=offset) for offset in offsets)
        statutory = sorted(days)
        for day in statutory:
            if day.weekday() >= 5:
                extra = day + timedelta(days=1)
                while extra.weekday() >= 5 or extra in days:
                    extra += timedelta(days=1)
                days.add(extra)
        return frozenset(d for d in days if d.year == year)


_STATUTORY = FixedHolidayRule()


@dataclass(frozen=True)
class _Year:
    year: int
    official: bool
    working: tuple[int, ...]  # sorted ordinals of the year's working days
    working_set: frozenset[int] = field(repr=False)


class WorkingCalendar:
    """Working days by year: official schedules where loaded, statutory rules beyond them."""

    def __init__(
        self,
        official: Mapping[int, YearSchedule],
        provisional_festivals: Mapping[int, Mapping[str, date]] = {},  # noqa: B006 - read only
        local_holidays: Iterable[date] = (),
        local_workdays: Iterable[date] = (),
        festival_source: Callable[[int], Mapping[str, date]] | None = None,
    ) -> None:
        """``provisional_festivals`` are explicit dates per year; ``festival_source`` gives them for
        any other provisional year (without either, only fixed-date holidays are known)."""
        for year, schedule in official.items():
            if schedule.year != year:
                raise InvalidConfig(f"schedule for {schedule.year} is filed under year {year}")
        for year, festivals in provisional_festivals.items():
            unknown = sorted(set(festivals) - FESTIVAL_KEYS)
            if unknown:
                raise InvalidConfig(
                    f"provisional festivals for {year}: unknown festival {unknown[0]!r} "
                    f"(expected {', '.join(sorted(FESTIVAL_KEYS))})"
                )
        self._official: dict[int, YearSchedule] = dict(official)
        self._festivals: dict[int, dict[str, date]] = {
            year: dict(f) for year, f in provisional_festivals.items()
        }
        self._festival_source = festival_source
        local_off = frozenset(_plain_date(d) for d in local_holidays)
        local_on = frozenset(_plain_date(d) for d in local_workdays)
        clash = sorted(local_off & local_on)
        if clash:
            raise InvalidConfig(f"{clash[0].isoformat()} is both a local holiday and a local workday")
        self._local_off: dict[int, set[int]] = {}
        self._local_on: dict[int, set[int]] = {}
        for days, by_year in ((local_off, self._local_off), (local_on, self._local_on)):
            for d in days:
                by_year.setdefault(d.year, set()).add(d.toordinal())
        self._first_year: int | None = min(self._official) if self._official else None
        self._last_year: int | None = max(self._official) if self._official else None
        self._official_years = frozenset(self._official)
        self._years: dict[int, _Year] = {}

    # --- queries ---------------------------------------------------------------------------

    def official_years(self) -> frozenset[int]:
        return self._official_years

    def is_official(self, year: int) -> bool:
        return year in self._official_years

    def is_working_day(self, day: date) -> tuple[bool, bool]:
        """(working, provisional) for one day."""
        y = self._year(_plain_date(day).year)
        return day.toordinal() in y.working_set, not y.official

    def add_working_days(self, start: date, n: int) -> DueDate:
        """The n-th working day strictly after `start` (`start` itself for n == 0)."""
        start = _plain_date(start)
        _check_count(n)
        y = self._year(start.year)
        if n == 0:
            return DueDate(start, not y.official)
        provisional = not y.official
        working = y.working
        i = bisect_right(working, start.toordinal()) + n - 1
        while i >= len(working):
            i -= len(working)
            y = self._year(y.year + 1)
            provisional = provisional or not y.official
            working = y.working
        return DueDate(date.fromordinal(working[i]), provisional)

    def add_calendar_days(self, start: date, n: int) -> DueDate:
        """`start` + n days, moved to the first working day after it if it is a day off."""
        start = _plain_date(start)
        _check_count(n)
        try:
            target = start + timedelta(days=n)
        except OverflowError:
            raise InvalidDayCount(f"{start.isoformat()} + {n} days is past the last date") from None
        provisional = self._any_provisional(start.year, target.year)
        y = self._year(target.year)
        ordinal = target.toordinal()
        if ordinal in y.working_set:
            return DueDate(target, provisional)
        i = bisect_right(y.working, ordinal)
        while i >= len(y.working):
            y = self._year(y.year + 1)
            provisional = provisional or not y.official
            i = 0
        return DueDate(date.fromordinal(y.working[i]), provisional)

    def working_days_between(self, after: date, through: date) -> tuple[int, bool]:
        """(number of working days d with after < d <= through, provisional)."""
        after, through = _plain_date(after), _plain_date(through)
        provisional = self._any_provisional(*sorted((after.year, through.year)))
        if through <= after:
            return 0, provisional
        lo, hi = after.toordinal(), through.toordinal()
        count = 0
        for year in range(after.year, through.year + 1):
            working = self._years[year].working  # loaded by _any_provisional
            count += bisect_right(working, hi) - bisect_right(working, lo)
        return count, provisional

    def calendar_days_between(self, after: date, through: date) -> tuple[int, bool]:
        """((through - after).days clamped at 0, provisional if either end's year is)."""
        after, through = _plain_date(after), _plain_date(through)
        provisional = not self._year(after.year).official or not self._year(through.year).official
        return max((through - after).days, 0), provisional

    # --- per-year precomputation -----------------------------------------------------------

    def _any_provisional(self, first: int, last: int) -> bool:
        provisional = False
        for year in range(first, last + 1):
            if not self._year(year).official:
                provisional = True
        return provisional

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> _Year:
        if year > date.max.year:
            raise InvalidDayCount(f"the result would lie after {date.max.isoformat()}")
        schedule = self._official.get(year)
        if schedule is None and self._first_year is not None and year < self._first_year:
            raise CalendarUnknownYear(
                f"no working-day calendar for {year}: official schedules cover "
                f"{self._first_year}-{self._last_year} (later years are computed provisionally)",
                year=year,
                first_year=self._first_year,
                last_year=self._last_year,
            )
        if schedule is not None:
            off = {d.toordinal() for d in schedule.holidays}
            on = {d.toordinal() for d in schedule.workdays}
        else:
            festivals = self._festivals.get(year)
            if festivals is None and self._festival_source is not None:
                festivals = dict(self._festival_source(year))
            off = {d.toordinal() for d in _STATUTORY.holidays(year, festivals)}
            on = set()
        off |= self._local_off.get(year, set())
        on = (on - off) | self._local_on.get(year, set())
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        # date(1, 1, 1) has ordinal 1 and is a Monday, so (ordinal - 1) % 7 is the weekday.
        working = tuple(o for o in range(first, last + 1) if o in on or ((o - 1) % 7 < 5 and o not in off))
        return _Year(year, schedule is not None, working, frozenset(working))


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidDayCount(f"day count must be an integer, got {n!r}")
    if n < 0:
        raise InvalidDayCount(f"day count must not be negative, got {n}")
    if n > MAX_DAYS:
        raise InvalidDayCount(f"day count {n} is more than the maximum of {MAX_DAYS}")


def _plain_date(day: date) -> date:
    # A datetime is a date subclass; silently taking its (often UTC) date part would shift
    # deadlines by a day, so the caller must convert to the local calendar date first.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a datetime.date (local calendar day), got {day!r}")
    return day
