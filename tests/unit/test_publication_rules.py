"""Periods, due dates, validation rules and schedule parsing of publication tasks (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gkflow.config.calendar import load_calendar
from gkflow.domain.errors import InvalidConfig, InvalidInput
from gkflow.publication.periods import Cadence, due_date, last_formed, parse_period, periods_between
from gkflow.publication.tasks import TASKS
from gkflow.publication.validation import validate
from gkflow.scheduling.config import cron_fields, fire_times
from tests.conftest import CONFIG_DIR

CAL = load_calendar(CONFIG_DIR)
FISCAL = TASKS["fiscal-monthly"].schema


def fiscal_rows(period: str = "2026-10", revenue: tuple[str, str] = ("100.50", "200.25"),
                stated_total: str | None = None) -> list[dict[str, str]]:
    rows = [
        {"period": period, "kind": "收入", "code": "1010101", "name": "增值税", "amount_month": revenue[0],
         "amount_ytd": "1000", "budget": "1200"},
        {"period": period, "kind": "收入", "code": "1010401", "name": "企业所得税",
         "amount_month": revenue[1], "amount_ytd": "2000", "budget": "2400"},
        {"period": period, "kind": "支出", "code": "201", "name": "一般公共服务支出", "amount_month": "50",
         "amount_ytd": "500", "budget": "600"},
    ]
    total = stated_total or str(sum(float(v) for v in revenue))
    rows += [
        {"period": period, "kind": "收入", "code": "合计", "name": "", "amount_month": total,
         "amount_ytd": "3000", "budget": ""},
        {"period": period, "kind": "支出", "code": "合计", "name": "", "amount_month": "50",
         "amount_ytd": "500", "budget": ""},
    ]
    return rows


def test_a_month_is_formed_on_its_last_day_and_due_twenty_working_days_later():
    period = parse_period(Cadence.MONTHLY, "2026-10")
    assert period.last_day == date(2026, 10, 31)
    assert due_date(period, CAL).date == date(2026, 11, 27)


def test_the_spring_festival_pushes_januarys_due_date_past_the_holiday():
    due = due_date(parse_period(Cadence.MONTHLY, "2026-01"), CAL)
    # 20 working days after 31 January 2026, skipping 15-23 February and counting Saturday 14th and 28th
    assert due.date == date(2026, 3, 5) and not due.provisional


def test_the_annual_report_is_due_by_31_january_and_a_quarter_ends_with_its_third_month():
    assert due_date(parse_period(Cadence.ANNUAL, "2025"), CAL).date == date(2026, 1, 31)
    q3 = parse_period(Cadence.QUARTERLY, "2026-Q3")
    assert (q3.first_day, q3.last_day) == (date(2026, 7, 1), date(2026, 9, 30))
    assert due_date(parse_period(Cadence.MONTHLY, "2027-01"), CAL).provisional


def test_last_formed_period_and_ranges():
    assert last_formed(Cadence.MONTHLY, date(2026, 1, 5)).label == "2025-12"
    assert last_formed(Cadence.QUARTERLY, date(2026, 4, 10)).label == "2026-Q1"
    span = periods_between(parse_period(Cadence.MONTHLY, "2025-11"), parse_period(Cadence.MONTHLY, "2026-02"))
    assert [p.label for p in span] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    with pytest.raises(InvalidInput):
        periods_between(span[-1], span[0])
    with pytest.raises(InvalidInput):
        parse_period(Cadence.MONTHLY, "2026-13")


def test_construction_accepts_a_month_or_a_milestone_day():
    spec = TASKS["construction-progress"]
    assert spec.parse_period("2026-10").cadence is Cadence.MONTHLY
    assert spec.parse_period("2026-10-15").cadence is Cadence.EVENT
    with pytest.raises(InvalidInput):
        spec.parse_period("2026-Q3")


def test_valid_fiscal_rows_pass():
    checked = validate(FISCAL, fiscal_rows(), parse_period(Cadence.MONTHLY, "2026-10"))
    assert checked.ok, checked.reasons
    assert len(checked.rows) == 5


def test_totals_that_do_not_add_up_are_named():
    checked = validate(FISCAL, fiscal_rows(stated_total="999"), parse_period(Cadence.MONTHLY, "2026-10"))
    assert checked.rows == []
    assert checked.reasons == ["合计 for 收入: amount_month is 999 but the rows add up to 300.75"]


def test_duplicates_wrong_period_bad_numbers_and_missing_columns_are_reported():
    period = parse_period(Cadence.MONTHLY, "2026-10")
    rows = fiscal_rows()
    rows.append(dict(rows[0]))
    assert any("duplicate of row 2" in r for r in validate(FISCAL, rows, period).reasons)
    wrong = validate(FISCAL, fiscal_rows("2026-09"), period)
    assert wrong.reasons[0] == "row 2: period 2026-09 is not 2026-10"
    bad = fiscal_rows()
    bad[1]["amount_month"] = "12O.5"
    assert "row 3: amount_month '12O.5' is not a number" in validate(FISCAL, bad, period).reasons
    missing = [{k: v for k, v in r.items() if k != "amount_ytd"} for r in fiscal_rows()]
    assert validate(FISCAL, missing, period).reasons == ["missing column(s): amount_ytd"]
    assert validate(FISCAL, [], period).reasons == ["the source has no rows"]


def test_cron_weekday_numbers_are_cron_numbers_not_apschedulers():
    assert cron_fields("0 9 * * 1-5")["day_of_week"] == "mon-fri"
    assert cron_fields("0 9 * * 0,7")["day_of_week"] == "sun,sun"
    with pytest.raises(InvalidConfig):
        cron_fields("0 9 * *")


def test_fire_times_follow_the_local_time_zone():
    tz = ZoneInfo("Asia/Shanghai")
    times = fire_times("0 9 5 * *", tz, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))
    assert [t.astimezone(tz).strftime("%m-%d %H:%M") for t in times] == ["06-05 09:00", "07-05 09:00",
                                                                          "08-05 09:00"]
