"""Clock arithmetic for legal time limits: stop, resume, restart, extend, both units."""

from __future__ import annotations

from datetime import date

from gkflow.domain.deadlines import LimitClock, days_left, warning_level
from gkflow.domain.items import Limit, LimitUnit


def working(days: int) -> Limit:
    return Limit(days, LimitUnit.WORKING)


def test_twenty_working_days_from_spring_festival_2026_count_both_makeup_saturdays(cal):
    clock = LimitClock(working(20), anchor=date(2026, 2, 10))
    # 11,12,13 Feb, Sat 14 (调休), 24–27, Sat 28 (调休), 2–6 Mar, 9–13 Mar, 16 Mar
    assert clock.due(cal).date == date(2026, 3, 16)


def test_deadline_across_national_day_2025_skips_the_eight_day_holiday_and_counts_saturday(cal):
    # 30 Sep (1), 1–8 Oct off, Thu 9 (2), Fri 10 (3), Sat 11 Oct is a make-up working day (4)
    assert LimitClock(working(4), anchor=date(2025, 9, 29)).due(cal).date == date(2025, 10, 11)
    assert LimitClock(working(5), anchor=date(2025, 9, 29)).due(cal).date == date(2025, 10, 13)


def test_labour_day_2024_makeup_sunday_counts(cal):
    clock = LimitClock(working(3), anchor=date(2024, 4, 26))
    # Sun 28 Apr 2024 worked (调休), 29, 30 Apr; 1–5 May off
    assert clock.due(cal).date == date(2024, 4, 30)


def test_stop_and_resume_do_not_count_the_paused_days(cal):
    clock = LimitClock(working(10), anchor=date(2026, 3, 2))  # Monday
    stopped = clock.stop(cal, date(2026, 3, 4))  # Tue, Wed used: 2 days
    assert stopped.used == 2 and not stopped.running and stopped.due(cal) is None
    resumed = stopped.resume(date(2026, 3, 16))  # 8 left, counted from Tue 17 Mar
    assert resumed.due(cal).date == date(2026, 3, 26)


def test_restart_counts_the_whole_period_anew_from_the_corrected_application(cal):
    clock = LimitClock(working(20), anchor=date(2026, 3, 2)).stop(cal, date(2026, 3, 5))
    restarted = clock.restart(date(2026, 3, 20))
    assert restarted.used == 0
    assert restarted.due(cal).date == LimitClock(working(20), date(2026, 3, 20)).due(cal).date


def test_extension_adds_days_to_the_limit(cal):
    clock = LimitClock(working(20), anchor=date(2026, 3, 2))
    assert clock.extend(20).due(cal).date == LimitClock(working(40), date(2026, 3, 2)).due(cal).date


def test_calendar_day_limit_ending_on_a_holiday_moves_to_the_next_working_day(cal):
    # legal aid: 7 calendar days; 2025-09-24 + 7 = 2025-10-01 (National Day) → 2025-10-09
    clock = LimitClock(Limit(7, LimitUnit.CALENDAR), anchor=date(2025, 9, 24))
    assert clock.due(cal).date == date(2025, 10, 9)


def test_calendar_day_clock_stops_count_calendar_days(cal):
    clock = LimitClock(Limit(7, LimitUnit.CALENDAR), anchor=date(2026, 3, 2))
    stopped = clock.stop(cal, date(2026, 3, 5))
    assert stopped.used == 3


def test_due_date_in_2027_is_provisional_until_the_official_schedule_exists(cal):
    due = LimitClock(working(20), anchor=date(2026, 12, 15)).due(cal)
    assert due.provisional is True
    assert due.date.year == 2027


def test_yellow_once_the_configured_share_is_used_and_red_after_the_due_date(cal):
    clock = LimitClock(working(10), anchor=date(2026, 3, 2))
    due = clock.due(cal)
    assert due.date == date(2026, 3, 16)
    assert warning_level(clock, due, date(2026, 3, 5), cal, 0.8) is None
    assert warning_level(clock, due, date(2026, 3, 12), cal, 0.8) == "yellow"  # 8 of 10 used
    assert warning_level(clock, due, date(2026, 3, 17), cal, 0.8) == "red"
    assert days_left(clock, due, date(2026, 3, 12), cal) == 2
    assert days_left(clock, due, date(2026, 3, 18), cal) == -2


def test_a_stopped_clock_raises_no_warning(cal):
    clock = LimitClock(working(10), anchor=date(2026, 3, 2)).stop(cal, date(2026, 3, 13))
    assert warning_level(clock, None, date(2026, 4, 1), cal, 0.8) is None
