"""Every year: festival dates from the lunar calendar (and Qingming from the solar term) for any
year, checked against the official schedules of 2004-2026; the config directory found from any
working directory, and a missing calendar file an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import chinese_calendar
import pytest

from gkflow.config.calendar import festival_dates, load_calendar
from gkflow.domain.calendar import DueDate
from gkflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"spring_festival": "Spring Festival", "qingming": "Tomb-sweeping Day",
         "dragon_boat": "Dragon Boat Festival", "mid_autumn": "Mid-autumn Festival"}


@pytest.mark.parametrize("year", range(2008, 2027))
def test_computed_festival_dates_are_official_holidays_in_every_year_since_2008(year: int) -> None:
    # Qingming, Dragon Boat and Mid-Autumn became holidays in 2008.
    for key, day in festival_dates(year).items():
        holiday, name = chinese_calendar.get_holiday_detail(day)
        # None: a weekend day off; 2020 Mid-Autumn fell on National Day.
        assert holiday and name in (NAMES[key], None, "National Day"), (key, day, name)


@pytest.mark.parametrize("year", range(2004, 2027))
def test_qingming_is_the_day_of_the_solar_term(year: int) -> None:
    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    assert [day for day, name in terms if name == "清明"] == [festival_dates(year)["qingming"]]


def test_spring_festival_no_longer_disappears_after_2030() -> None:
    calendar = load_calendar(ROOT / "config")
    # 2031: New Year's Eve Wed 22 Jan - Sat 25 Jan off, Sat 25 made up on Mon 27 (Art. 6).
    for day in ("2031-01-22", "2031-01-23", "2031-01-24", "2031-01-27"):
        assert calendar.is_working_day(date.fromisoformat(day)) == (False, True), day
    # Before: 2031-01-10 + 20 working days gave 02-07, as if there were no Spring Festival.
    assert calendar.add_working_days(date(2031, 1, 10), 20) == DueDate(date(2031, 2, 13), True)
    assert festival_dates(2099)["spring_festival"] == date(2099, 1, 21)  # and on, for any year


def test_the_default_config_dir_does_not_depend_on_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GKFLOW_CONFIG_DIR")
    monkeypatch.chdir(tmp_path)
    assert Settings().config_dir == ROOT / "config"


def test_the_cli_run_from_another_folder_keeps_the_calendar(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GKFLOW_CONFIG_DIR"}
    elsewhere = subprocess.run([sys.executable, "-m", "gkflow", "calendar", "add-days", "2027-01-20", "20",
                                "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    here = subprocess.run([sys.executable, "-m", "gkflow", "calendar", "add-days", "2027-01-20", "20",
                           "--json"], cwd=ROOT, env={**env, "GKFLOW_CONFIG_DIR": str(ROOT / "config")},
                          capture_output=True, text=True, timeout=60)
    expected = {"date": "2027-02-23", "provisional": True}
    assert json.loads(elsewhere.stdout) == json.loads(here.stdout) == expected


def test_a_config_dir_without_calendar_yaml_is_an_error_everywhere(tmp_path) -> None:
    (tmp_path / "items").mkdir()
    env = {**os.environ, "GKFLOW_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "gkflow", "calendar", "add-days", "2026-03-02", "5",
                           "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "invalid_config" and "calendar.yaml" in error["message"]
    assert "GKFLOW_CONFIG_DIR" in error["message"]
