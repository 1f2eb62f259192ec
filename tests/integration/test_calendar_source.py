"""Loading the working-day calendar from chinese-calendar and config/calendar.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import chinese_calendar.constants
import pytest

from gkflow.config.calendar import load_calendar
from gkflow.domain.calendar import DueDate
from gkflow.domain.errors import InvalidConfig
from tests.conftest import CONFIG_DIR
from tests.helpers import d

SHIPPED_CONFIG = CONFIG_DIR

FESTIVALS_2027 = (
    "provisional_festivals:\n"
    "  2027: {spring_festival: 2027-02-06, qingming: 2027-04-05,"
    " dragon_boat: 2027-06-09, mid_autumn: 2027-09-15}\n"
)


def write_config(tmp_path: Path, text: str) -> Path:
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "calendar.yaml").write_text(text, encoding="utf-8")
    return config_dir


def load_error(config_dir: Path) -> str:
    with pytest.raises(InvalidConfig) as caught:
        load_calendar(config_dir)
    return caught.value.message


# --- the shipped file -----------------------------------------------------------------------


def test_shipped_config_loads_every_year_the_package_covers() -> None:
    calendar = load_calendar(SHIPPED_CONFIG)
    package_years = {day.year for day in chinese_calendar.constants.holidays}
    assert calendar.official_years() == frozenset(package_years)
    assert min(package_years) == 2004 and max(package_years) >= 2026
    assert calendar.add_working_days(d("2026-02-11"), 4) == DueDate(d("2026-02-24"), False)


def test_shipped_config_has_festival_dates_for_2027_to_2030() -> None:
    calendar = load_calendar(SHIPPED_CONFIG)
    lunar_new_year_eves = ["2027-02-05", "2028-01-25", "2029-02-12", "2030-02-02"]
    dragon_boats = ["2027-06-09", "2028-05-28", "2029-06-16", "2030-06-05"]
    for day in lunar_new_year_eves + dragon_boats:
        if not calendar.is_official(d(day).year):
            working, provisional = calendar.is_working_day(d(day))
            assert (working, provisional) == (False, True), day
    if not calendar.is_official(2029):
        # Mid-Autumn 2029 is Sat 22 Sep; Qingming 2029 is Wed 4 Apr.
        assert calendar.add_working_days(d("2029-04-03"), 1) == DueDate(d("2029-04-05"), True)


def test_loading_twice_returns_the_cached_calendar_until_the_file_changes(
    tmp_path: Path,
) -> None:
    config_dir = write_config(tmp_path, "local_holidays: []\n")
    first = load_calendar(config_dir)
    assert load_calendar(config_dir) is first

    path = config_dir / "calendar.yaml"
    path.write_text("local_holidays: [2026-03-03]\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_calendar(config_dir)
    assert second is not first
    assert second.is_working_day(d("2026-03-03")) == (False, False)


def test_a_missing_calendar_file_is_an_error_naming_the_path_not_a_silent_default(
    tmp_path: Path,
) -> None:
    from gkflow.domain.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match=r"calendar\.yaml: the working-day calendar file is missing"):
        load_calendar(tmp_path)


# --- official years from the file -----------------------------------------------------------


def test_an_official_2027_schedule_in_the_file_makes_2027_results_non_provisional(
    tmp_path: Path,
) -> None:
    config_dir = write_config(
        tmp_path,
        "years:\n"
        "  2027:\n"
        "    holidays: [2027-01-01, 2027-01-02, 2027-01-03,\n"
        "               2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09,\n"
        "               2027-02-10, 2027-02-11, 2027-02-12, 2027-02-13]\n"
        "    workdays: [2027-02-20]\n" + FESTIVALS_2027,
    )
    calendar = load_calendar(config_dir)
    assert calendar.is_official(2027)
    assert calendar.add_working_days(d("2026-12-15"), 20) == DueDate(d("2027-01-13"), False)
    assert calendar.is_working_day(d("2027-02-12")) == (False, False)
    assert calendar.is_working_day(d("2027-02-20")) == (True, False)
    assert calendar.add_working_days(d("2027-02-04"), 1) == DueDate(d("2027-02-15"), False)
    assert calendar.is_working_day(d("2028-03-01")) == (True, True)


def test_a_year_in_the_file_replaces_the_package_schedule_for_that_year(tmp_path: Path) -> None:
    config_dir = write_config(tmp_path, "years:\n  2026:\n    holidays: [2026-01-01]\n")
    calendar = load_calendar(config_dir)
    # The package's Spring Festival block is gone; only New Year's Day remains off.
    assert calendar.is_working_day(d("2026-02-16")) == (True, False)
    assert calendar.is_working_day(d("2026-02-14")) == (False, False)
    assert calendar.is_working_day(d("2026-01-01")) == (False, False)
    assert calendar.is_working_day(d("2025-10-08")) == (False, False)


def test_a_makeup_day_in_the_neighbouring_year_joins_that_years_schedule(
    tmp_path: Path,
) -> None:
    config_dir = write_config(
        tmp_path,
        "years:\n  2027:\n    holidays: [2027-01-01]\n    workdays: [2026-12-26]\n",
    )
    calendar = load_calendar(config_dir)
    assert calendar.is_working_day(d("2026-12-26")) == (True, False)
    # The rest of the package's 2026 schedule is kept.
    assert calendar.is_working_day(d("2026-02-16")) == (False, False)


# --- malformed files name the line ----------------------------------------------------------


def test_a_bad_date_reports_file_and_line(tmp_path: Path) -> None:
    config_dir = write_config(
        tmp_path,
        "# comment\nlocal_holidays:\n  - 2026-03-03\n  - 2026-02-30\nlocal_workdays: []\n",
    )
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'calendar.yaml'}:4: ")
    assert "2026-02-30" in message


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("local_holidays: [\n", 2, "not valid YAML"),
        ("local_holiday: []\n", 1, "unknown key 'local_holiday'"),
        ("local_holidays: []\nlocal_holidays: []\n", 2, "duplicate key"),
        ("local_holidays: 2026-03-03\n", 1, "must be a list"),
        ("local_holidays: [2026-3-3]\n", 1, "is not a date"),
        ("local_holidays: [2026-03-03]\nlocal_workdays: [2026-03-03]\n", 2, "both"),
        ("years:\n  2027:\n    holidays: [2027-01-01]\n    workdays: [2027-03-03]\n", 4, "Wed"),
        ("years:\n  2027:\n    workdays: [2027-02-20]\n", 2, "no holidays"),
        ("years:\n  2027:\n    holidays: [2029-01-01]\n", 3, "not in or next to 2027"),
        ("years:\n  '27':\n    holidays: [2027-01-01]\n", 2, "not a year"),
        (
            "years:\n  2028:\n    holidays: [2028-01-01]\n    workdays: [2027-12-25]\n",
            4,
            "no official schedule",
        ),
        (
            "provisional_festivals:\n  2027: {spring_festival: 2027-02-06, qingming: 2027-04-05,"
            " dragon_boat: 2027-06-09, mid_autumn: 2027-08-15}\n",
            2,
            "mid_autumn 2027-08-15 is not a possible date",
        ),
        (
            "provisional_festivals:\n  2027:\n    spring_festival: 2027-02-06\n",
            2,
            "missing dragon_boat, mid_autumn, qingming",
        ),
        (
            "provisional_festivals:\n  2027:\n    lantern: 2027-02-20\n",
            3,
            "unknown festival 'lantern'",
        ),
    ],
)
def test_malformed_config_reports_file_line_and_what_is_wrong(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    config_dir = write_config(tmp_path, text)
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'calendar.yaml'}:{line}: "), message
    assert fragment in message, message


def test_a_relative_config_dir_is_reported_as_config_slash_calendar_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "local_holidays: [not-a-date]\n")
    monkeypatch.chdir(tmp_path)
    assert load_error(Path("config")).startswith("config/calendar.yaml:1: ")
