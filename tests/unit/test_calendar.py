"""Behaviour of the working-day calendar (gkflow.domain.calendar); no file I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from gkflow.config.calendar import package_schedules
from gkflow.domain.calendar import (
    DueDate,
    FixedHolidayRule,
    WorkingCalendar,
    YearSchedule,
)
from gkflow.domain.errors import CalendarUnknownYear, InvalidConfig, InvalidInput
from tests.helpers import d

# Checked against lunar-python, lunardate, ephem and chinese-calendar's solar terms.
FESTIVALS = {
    2025: {
        "spring_festival": date(2025, 1, 29),
        "qingming": date(2025, 4, 4),
        "dragon_boat": date(2025, 5, 31),
        "mid_autumn": date(2025, 10, 6),
    },
    2026: {
        "spring_festival": date(2026, 2, 17),
        "qingming": date(2026, 4, 5),
        "dragon_boat": date(2026, 6, 19),
        "mid_autumn": date(2026, 9, 25),
    },
    2027: {
        "spring_festival": date(2027, 2, 6),
        "qingming": date(2027, 4, 5),
        "dragon_boat": date(2027, 6, 9),
        "mid_autumn": date(2027, 9, 15),
    },
}


def days(first: str, last: str) -> list[date]:
    start, end = d(first), d(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@pytest.fixture(scope="module")
def china() -> WorkingCalendar:
    """The real national calendar: chinese-calendar's schedules, festival data for 2027."""
    return WorkingCalendar(package_schedules(), {2027: FESTIVALS[2027]})


def schedule_2026_spring() -> YearSchedule:
    return YearSchedule(
        2026,
        holidays=frozenset(days("2026-02-15", "2026-02-23")),
        workdays=frozenset({d("2026-02-14"), d("2026-02-28")}),
    )


# --- official schedules ---------------------------------------------------------------------


def test_deadline_skips_spring_festival_and_counts_the_makeup_saturday() -> None:
    calendar = WorkingCalendar({2026: schedule_2026_spring()})

    # Thu 12, Fri 13, Sat 14 (make-up), then nothing until Tue 24.
    assert calendar.add_working_days(d("2026-02-11"), 3) == DueDate(d("2026-02-14"), False)
    assert calendar.add_working_days(d("2026-02-11"), 4) == DueDate(d("2026-02-24"), False)
    # Fri 27 and the make-up Sat 28 both count.
    assert calendar.add_working_days(d("2026-02-26"), 2) == DueDate(d("2026-02-28"), False)
    assert calendar.working_days_between(d("2026-02-13"), d("2026-03-02")) == (7, False)


def test_real_calendar_matches_the_2026_spring_festival_notice(china: WorkingCalendar) -> None:
    assert all(china.is_working_day(day) == (False, False) for day in days("2026-02-15", "2026-02-23"))
    assert china.is_working_day(d("2026-02-14")) == (True, False)
    assert china.is_working_day(d("2026-02-28")) == (True, False)
    assert china.add_working_days(d("2026-02-11"), 4) == DueDate(d("2026-02-24"), False)


@pytest.mark.parametrize(
    ("off_first", "off_last", "makeup_days"),
    [
        ("2024-02-10", "2024-02-17", ["2024-02-04", "2024-02-18"]),
        ("2025-01-28", "2025-02-04", ["2025-01-26", "2025-02-08"]),
    ],
)
def test_spring_festival_block_is_off_and_its_makeup_sundays_and_saturdays_work(
    china: WorkingCalendar, off_first: str, off_last: str, makeup_days: list[str]
) -> None:
    for day in days(off_first, off_last):
        assert china.is_working_day(day) == (False, False), day
    for day in makeup_days:
        assert china.is_working_day(d(day)) == (True, False), day
    # The working day before the block is followed directly by the first one after it.
    before = d(off_first) - timedelta(days=1)
    while not china.is_working_day(before)[0]:
        before -= timedelta(days=1)
    after = d(off_last) + timedelta(days=1)
    while not china.is_working_day(after)[0]:
        after += timedelta(days=1)
    assert china.add_working_days(before, 1).date == after


@pytest.mark.parametrize(
    ("year", "off_last", "makeup_days"),
    [
        (2024, "2024-05-05", ["2024-04-28", "2024-05-11"]),
        (2025, "2025-05-05", ["2025-04-27"]),
        (2026, "2026-05-05", ["2026-05-09"]),
    ],
)
def test_labour_day_is_five_days_off_with_makeup_weekend_days(
    china: WorkingCalendar, year: int, off_last: str, makeup_days: list[str]
) -> None:
    for day in days(f"{year}-05-01", off_last):
        assert china.is_working_day(day) == (False, False), day
    for day in makeup_days:
        assert d(day).weekday() >= 5
        assert china.is_working_day(d(day)) == (True, False), day
    assert china.add_working_days(d(f"{year}-04-30"), 1) == DueDate(d(f"{year}-05-06"), False)


@pytest.mark.parametrize(
    ("year", "off_last", "makeup_days"),
    [
        (2024, "2024-10-07", ["2024-09-29", "2024-10-12"]),
        (2025, "2025-10-08", ["2025-09-28", "2025-10-11"]),
        (2026, "2026-10-07", ["2026-09-20", "2026-10-10"]),
    ],
)
def test_national_day_week_is_off_with_makeup_weekend_days(
    china: WorkingCalendar, year: int, off_last: str, makeup_days: list[str]
) -> None:
    for day in days(f"{year}-10-01", off_last):
        assert china.is_working_day(day) == (False, False), day
    for day in makeup_days:
        assert d(day).weekday() >= 5
        assert china.is_working_day(d(day)) == (True, False), day
    first_back = d(off_last) + timedelta(days=1)
    assert china.add_working_days(d(f"{year}-09-30"), 1) == DueDate(first_back, False)


def test_application_received_on_a_holiday_starts_counting_the_next_working_day(
    china: WorkingCalendar,
) -> None:
    # Received Sat 3 Oct 2026 (National Day): day 1 is Thu 8 Oct.
    assert china.add_working_days(d("2026-10-03"), 1) == DueDate(d("2026-10-08"), False)
    # 20 working days (条例 Art. 33) from a Spring Festival day.
    assert china.add_working_days(d("2026-02-18"), 20).date == d("2026-03-20")
    assert china.working_days_between(d("2026-02-18"), d("2026-03-20")) == (20, False)


def test_calendar_day_limit_ending_on_a_holiday_moves_to_the_next_working_day(
    china: WorkingCalendar,
) -> None:
    # 7 days after 24 Sep 2026 is 1 Oct (National Day): the end moves to Thu 8 Oct.
    assert china.add_calendar_days(d("2026-09-24"), 7) == DueDate(d("2026-10-08"), False)
    # Ending on a make-up Saturday is a working day, so it stays.
    assert china.add_calendar_days(d("2026-10-03"), 7) == DueDate(d("2026-10-10"), False)
    # Ending on an ordinary Sunday moves to Monday.
    assert china.add_calendar_days(d("2026-03-01"), 7) == DueDate(d("2026-03-09"), False)
    assert china.add_calendar_days(d("2026-03-02"), 0) == DueDate(d("2026-03-02"), False)


# --- provisional years ----------------------------------------------------------------------


def test_twenty_working_days_from_mid_december_2026_are_provisional_past_new_year_2027(
    china: WorkingCalendar,
) -> None:
    # Dec 16-18, 21-25, 28-31 (12 days); Fri 1 Jan 2027 is New Year's Day; Jan 4-8, 11-13.
    assert china.add_working_days(d("2026-12-15"), 20) == DueDate(d("2027-01-13"), True)
    # Only results that reach into 2027 are provisional.
    assert china.add_working_days(d("2026-12-15"), 12) == DueDate(d("2026-12-31"), False)
    assert china.working_days_between(d("2026-12-15"), d("2027-01-13")) == (20, True)


def test_zero_days_returns_the_start_and_is_provisional_only_in_a_provisional_year(
    china: WorkingCalendar,
) -> None:
    assert china.add_working_days(d("2026-12-31"), 0) == DueDate(d("2026-12-31"), False)
    assert china.add_working_days(d("2027-01-01"), 0) == DueDate(d("2027-01-01"), True)
    assert china.add_working_days(d("2026-12-31"), 1) == DueDate(d("2027-01-04"), True)


def test_provisional_year_makes_up_weekend_holidays_by_art_6_and_has_no_makeup_working_days(
    china: WorkingCalendar,
) -> None:
    # Spring Festival 2027: Fri 5 Feb (New Year's Eve) to Mon 8 Feb (third day); Sat 6 and Sun 7
    # are made up on Tue 9 and Wed 10 (全国年节及纪念日放假办法 Art. 6).
    for day in days("2027-02-05", "2027-02-10"):
        assert china.is_working_day(day) == (False, True), day
    assert china.is_working_day(d("2027-02-04")) == (True, True)
    assert china.is_working_day(d("2027-02-11")) == (True, True)
    # 1-2 May 2027 fall on Sat/Sun: made up on Mon 3 and Tue 4; National Day Fri 1 - Sun 3 Oct:
    # Sat 2 and Sun 3 are made up on Mon 4 and Tue 5.
    for day in ("2027-04-05", "2027-05-03", "2027-05-04", "2027-06-09", "2027-09-15", "2027-10-01",
                "2027-10-04", "2027-10-05"):
        assert china.is_working_day(d(day)) == (False, True), day
    assert china.is_working_day(d("2027-05-05")) == (True, True)
    assert china.is_working_day(d("2027-10-06")) == (True, True)
    saturdays = [day for day in days("2027-01-01", "2027-12-31") if day.weekday() == 5]
    assert not any(china.is_working_day(day)[0] for day in saturdays)


def test_provisional_year_without_festival_data_keeps_the_fixed_date_holidays(
    china: WorkingCalendar,
) -> None:
    # 2031: no lunar data, so only New Year, Labour Day and National Day are known.
    for day in ("2031-01-01", "2031-05-01", "2031-05-02", "2031-10-01", "2031-10-02", "2031-10-03"):
        assert china.is_working_day(d(day)) == (False, True), day
    assert china.is_working_day(d("2031-01-22")) == (True, True)  # Lunar New Year's Eve, unknown
    assert china.add_working_days(d("2031-04-30"), 1) == DueDate(d("2031-05-05"), True)


def test_statutory_rule_days_and_their_art_6_makeup_days_lie_inside_the_official_holiday_blocks() -> None:
    schedules = package_schedules()
    rule = FixedHolidayRule()
    # 13 statutory days (1 + 4 + 1 + 2 + 1 + 1 + 3) plus one made-up day per weekend holiday:
    # 2025 Dragon Boat Sat 31 May -> Mon 2 June; 2026 Qingming Sun 5 April -> Mon 6, Labour Day
    # Sat 2 May -> Mon 4, National Day Sat 3 October -> Mon 5. The State Council gave all of them off.
    for year, made_up in ((2025, {"2025-06-02"}), (2026, {"2026-04-06", "2026-05-04", "2026-10-05"})):
        statutory = rule.holidays(year, FESTIVALS[year])
        assert len(statutory) == 13 + len(made_up)
        assert {d(x) for x in made_up} <= statutory <= schedules[year].holidays


def test_a_gap_between_official_years_is_provisional() -> None:
    calendar = WorkingCalendar(
        {
            2026: YearSchedule(2026, frozenset(), frozenset()),
            2028: YearSchedule(2028, frozenset({d("2028-01-03")}), frozenset()),
        }
    )
    assert calendar.official_years() == frozenset({2026, 2028})
    assert calendar.is_official(2028) and not calendar.is_official(2027)
    assert calendar.is_working_day(d("2027-03-01")) == (True, True)
    assert calendar.is_working_day(d("2028-01-03")) == (False, False)
    # Crossing 2027 makes the result provisional even though it lands in 2028.
    assert calendar.add_working_days(d("2026-12-30"), 260).provisional
    assert calendar.add_working_days(d("2028-01-01"), 2) == DueDate(d("2028-01-05"), False)


def test_calendar_days_between_is_clamped_and_provisional_when_either_end_is(
    china: WorkingCalendar,
) -> None:
    assert china.calendar_days_between(d("2026-02-01"), d("2026-03-01")) == (28, False)
    assert china.calendar_days_between(d("2026-03-01"), d("2026-02-01")) == (0, False)
    assert china.calendar_days_between(d("2026-12-01"), d("2027-01-01")) == (31, True)
    assert china.calendar_days_between(d("2027-01-01"), d("2026-12-01")) == (0, True)


def test_working_days_between_is_zero_when_through_is_not_after(china: WorkingCalendar) -> None:
    assert china.working_days_between(d("2026-03-02"), d("2026-03-02")) == (0, False)
    assert china.working_days_between(d("2026-03-05"), d("2026-03-02")) == (0, False)
    assert china.working_days_between(d("2026-03-06"), d("2026-03-09")) == (1, False)


# --- local configuration --------------------------------------------------------------------


def test_local_holidays_and_workdays_are_honoured_in_official_and_provisional_years() -> None:
    calendar = WorkingCalendar(
        {2026: schedule_2026_spring()},
        local_holidays=[d("2026-03-03"), d("2027-03-03"), d("2026-02-28")],
        local_workdays=[d("2026-03-07"), d("2027-02-07")],
    )
    assert calendar.is_working_day(d("2026-03-03")) == (False, False)
    assert calendar.is_working_day(d("2027-03-03")) == (False, True)
    # A local holiday wins over a national make-up day; a local workday wins over a weekend.
    assert calendar.is_working_day(d("2026-02-28")) == (False, False)
    assert calendar.is_working_day(d("2026-03-07")) == (True, False)
    assert calendar.is_working_day(d("2027-02-07")) == (True, True)
    # Mon 2, (Tue 3 off), Wed 4, Thu 5, Fri 6, Sat 7 (local workday).
    assert calendar.add_working_days(d("2026-03-01"), 5) == DueDate(d("2026-03-07"), False)


def test_a_day_both_local_holiday_and_local_workday_is_refused() -> None:
    with pytest.raises(InvalidConfig, match="2026-03-03"):
        WorkingCalendar({}, local_holidays=[d("2026-03-03")], local_workdays=[d("2026-03-03")])


# --- errors and guards ----------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2003-12-31", "1990-06-01"])
def test_years_before_the_first_official_year_raise_calendar_unknown_year(
    china: WorkingCalendar, day: str
) -> None:
    year = day[:4]
    for call in (
        lambda: china.is_working_day(d(day)),
        lambda: china.add_working_days(d(day), 1),
        lambda: china.add_calendar_days(d(day), 400),
        lambda: china.working_days_between(d(day), d("2004-02-01")),
        lambda: china.calendar_days_between(d(day), d("2004-02-01")),
    ):
        with pytest.raises(CalendarUnknownYear) as caught:
            call()
        assert year in caught.value.message and "2004-2026" in caught.value.message
        assert caught.value.code == "calendar_unknown_year"


def test_first_official_day_is_known(china: WorkingCalendar) -> None:
    assert china.is_working_day(d("2004-01-01")) == (False, False)
    assert china.add_working_days(d("2004-01-01"), 1) == DueDate(d("2004-01-02"), False)


def test_negative_or_huge_day_counts_are_invalid_input(china: WorkingCalendar) -> None:
    for bad in (-1, 10**9):
        for call in (china.add_working_days, china.add_calendar_days):
            with pytest.raises(ValueError):
                call(d("2026-03-02"), bad)
            with pytest.raises(InvalidInput):
                call(d("2026-03-02"), bad)
    assert china.add_working_days(d("2026-03-02"), 3650).provisional


def test_a_datetime_is_refused_so_no_utc_date_slips_in(china: WorkingCalendar) -> None:
    with pytest.raises(TypeError, match="date"):
        china.add_working_days(datetime(2026, 3, 2, 23, 30), 1)  # type: ignore[arg-type]


def test_year_schedule_refuses_weekday_makeup_days_and_days_of_another_year() -> None:
    with pytest.raises(InvalidConfig, match="Monday"):
        YearSchedule(2026, frozenset(), frozenset({d("2026-03-02")}))
    with pytest.raises(InvalidConfig, match="2025-12-31"):
        YearSchedule(2026, frozenset({d("2025-12-31")}), frozenset())
    with pytest.raises(InvalidConfig, match="both"):
        YearSchedule(2026, frozenset({d("2026-02-28")}), frozenset({d("2026-02-28")}))


def test_unknown_festival_names_are_refused() -> None:
    with pytest.raises(InvalidConfig, match="lantern"):
        WorkingCalendar({}, {2027: {"lantern": d("2027-02-20")}})


# --- consistency and speed ------------------------------------------------------------------


def test_working_days_between_agrees_with_add_working_days(china: WorkingCalendar) -> None:
    start = d("2025-11-01")
    for offset in range(0, 500, 3):
        after = start + timedelta(days=offset)
        for n in (1, 2, 5, 7, 15, 20, 40, 250):
            due = china.add_working_days(after, n)
            assert china.is_working_day(due.date)[0]
            assert china.working_days_between(after, due.date) == (n, due.provisional)
            day_before = due.date - timedelta(days=1)
            assert china.working_days_between(after, day_before)[0] == n - 1
        assert china.add_working_days(after, 0).date == after


def test_add_calendar_days_lands_on_a_working_day_no_earlier_than_the_plain_sum(
    china: WorkingCalendar,
) -> None:
    start = d("2025-12-20")
    for offset in range(0, 420, 5):
        after = start + timedelta(days=offset)
        for n in (1, 7, 15, 30, 60):
            due = china.add_calendar_days(after, n)
            plain = after + timedelta(days=n)
            assert due.date >= plain and china.is_working_day(due.date)[0]
            assert china.working_days_between(plain, due.date - timedelta(days=1))[0] == 0
            assert due.provisional == (due.date.year >= 2027)
