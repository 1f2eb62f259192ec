"""The directory files: the shipped ones load; every mistake is reported as file:line: message."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from gkflow.domain.calendar import DueDate
from gkflow.domain.items import LimitUnit
from gkflow.domain.openness import TimeLimit
from gkflow.openness import References, directory_from, load_directory_files
from gkflow.services.openness import validate_directory
from gkflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
REFS = References(
    task_crons={"fiscal-monthly": "0 9 5 * *"},
    item_triggers={"fireworks-retail-licence": frozenset({"licence.granted"})},
)
GOOD = """\
order: 1
area: 测试领域
entries:
  quarterly-report:
    name: 季度报告
    version: 1
    effective_from: 2026-12-01
    basis:
      - title: 条例第二十六条
        text: 20个工作日内及时公开。
    content: 内容
    department: 格尔木市财政局
    time_limit: {text: 季度结束之日起20个工作日内, days: 20, unit: working}
    channels: [website]
    audience: 社会公众
    requirements: 要求
    cadence: {kind: periodic, period: quarterly, cron: "0 9 15 1,4,7,10 *"}
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "area.yaml"
    path.write_text(text, encoding="utf-8")
    _areas, _entries, problems = load_directory_files(path, REFS, tmp_path)
    return problems


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_the_shipped_directory_has_every_pilot_area_and_the_four_publication_tasks() -> None:
    directory, problems = validate_directory(Settings(config_dir=CONFIG))
    assert problems == []
    names = [a.name for a in directory.areas]
    assert names[:9] == [
        "城乡规划",
        "重大建设项目",
        "财政预决算",
        "税收管理",
        "环境保护",
        "食品药品监管",
        "安全生产",
        "公共文化服务",
        "公共法律服务",
    ]
    tasks = {e.task for e in directory.entries() if e.task}
    assert {"fiscal-monthly", "land-quarterly", "construction-progress", "disclosure-annual"} <= tasks
    licences = {e.cadence.item for e in directory.entries() if e.cadence.trigger == "licence.granted"}
    assert licences == {"fireworks-retail-licence", "hazchem-business-licence", "cultural-business-licence"}
    for entry in directory.entries():
        assert entry.basis and all(b.text for b in entry.basis), entry.code


def test_a_good_file_loads() -> None:
    assert problems_of(Path(__import__("tempfile").mkdtemp()), GOOD) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    content: 内容\n", "", "area.yaml:5: entry 'quarterly-report': missing 'content'"),
        (
            "days: 20, unit: working}",
            "days: 20, unit: weeks}",
            "area.yaml:13: time_limit: unit must be 'working' or 'calendar', got 'weeks'",
        ),
        (
            "days: 20, unit: working}",
            "days: 20, next_month_day: 15}",
            "area.yaml:13: time_limit: give exactly one of days, next_month_day, next_year_date",
        ),
        (
            "channels: [website]",
            "channels: [website, fax]",
            "area.yaml:14: channels: unknown channel 'fax'; known: website, new_media, notice_board, hall, "
            "press, archive",
        ),
        (
            'cron: "0 9 15 1,4,7,10 *"',
            'cron: "0 9 15 1,4,7,10"',
            "area.yaml:17: cadence: cron '0 9 15 1,4,7,10' needs 5 fields: minute hour day month day-of-week",
        ),
        (
            "period: quarterly",
            "period: weekly",
            "area.yaml:17: cadence: a periodic entry needs period monthly, quarterly or annual, got 'weekly'",
        ),
        (
            "effective_from: 2026-12-01",
            "effective_from: 2026-13-01",
            "area.yaml:7: '2026-13-01' is not a real date (month must be in 1..12)",
        ),
        (
            "        text: 20个工作日内及时公开。\n",
            "",
            "area.yaml:9: basis: '条例第二十六条' needs the text relied on",
        ),
        (
            "    audience: 社会公众\n",
            "    audience: 社会公众\n    owner: 某人\n",
            "area.yaml:16: entry 'quarterly-report': unknown key 'owner'",
        ),
    ],
)
def test_each_mistake_is_reported_at_its_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert expected in problems_of(tmp_path, edit(old, new))


def test_an_event_entry_must_name_a_trigger_some_transition_writes(tmp_path: Path) -> None:
    text = edit(
        '{kind: periodic, period: quarterly, cron: "0 9 15 1,4,7,10 *"}',
        "{kind: event, item: fireworks-retail-licence, trigger: construction.milestone}",
    )
    assert problems_of(tmp_path, text) == [
        "area.yaml:17: cadence: no transition of item 'fireworks-retail-licence' writes the trigger "
        "'construction.milestone'"
    ]
    text = edit(
        '{kind: periodic, period: quarterly, cron: "0 9 15 1,4,7,10 *"}',
        "{kind: event, item: no-such-item, trigger: licence.granted}",
    )
    assert problems_of(tmp_path, text) == [
        "area.yaml:17: cadence: unknown item 'no-such-item' (config/items/)"
    ]


def test_a_task_entry_takes_its_cron_from_schedules_and_may_not_contradict_it(tmp_path: Path) -> None:
    text = edit(
        '{kind: periodic, period: quarterly, cron: "0 9 15 1,4,7,10 *"}',
        '{kind: periodic, period: monthly, cron: "0 9 6 * *"}\n    task: fiscal-monthly',
    )
    assert problems_of(tmp_path, text) == [
        "area.yaml:17: cadence: cron '0 9 6 * *' differs from the schedule of task 'fiscal-monthly' in "
        "schedules.yaml ('0 9 5 * *'): cadences live there"
    ]
    text = edit(
        '{kind: periodic, period: quarterly, cron: "0 9 15 1,4,7,10 *"}',
        "{kind: periodic, period: monthly}\n    task: no-such-task",
    )
    assert (
        "area.yaml:18: entry 'quarterly-report': unknown publication task 'no-such-task' "
        "(known: fiscal-monthly)"
        in problems_of(tmp_path, text)
    )


def test_versions_are_oldest_first_and_a_later_version_changes_the_time_limit(tmp_path: Path) -> None:
    text = (
        GOOD
        + """\
    versions:
      - {version: 1, effective_from: 2026-12-01}
      - {version: 2, effective_from: 2027-07-01, time_limit: {text: 季度结束之日起15个工作日内, days: 15}}
"""
    )
    path = tmp_path / "area.yaml"
    path.write_text(text.replace("    version: 1\n    effective_from: 2026-12-01\n", "", 1), encoding="utf-8")
    areas, entries, problems = load_directory_files(path, REFS, tmp_path)
    assert problems == []
    directory = directory_from(areas, entries)
    assert directory.in_force("quarterly-report", date(2027, 6, 30)).time_limit.days == 20
    assert directory.in_force("quarterly-report", date(2027, 7, 1)).time_limit.days == 15
    assert directory.in_force("quarterly-report", date(2026, 11, 30)) is None
    swapped = text.replace("2027-07-01", "2026-06-01").replace(
        "    version: 1\n    effective_from: 2026-12-01\n", "", 1
    )
    assert problems_of(tmp_path, swapped) == [
        "area.yaml:18: entry 'quarterly-report': versions must be listed oldest first with increasing "
        "version and effective_from"
    ]


def test_the_same_entry_code_in_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    _areas, _entries, problems = load_directory_files(tmp_path, REFS, tmp_path)
    assert problems == ["b.yaml:1: entry code 'quarterly-report' is also defined in a.yaml"]


def test_a_broken_shipped_copy_names_its_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    path = config / "openness" / "fiscal.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("unit: calendar", "unit: lunar", 1), encoding="utf-8"
    )
    _directory, problems = validate_directory(Settings(config_dir=config))
    assert len(problems) == 1 and problems[0].startswith("config/openness/fiscal.yaml:")
    assert "unit must be 'working' or 'calendar', got 'lunar'" in problems[0]


class _Calendar:
    def add_working_days(self, start: date, n: int) -> DueDate:
        return DueDate(date.fromordinal(start.toordinal() + n), False)

    def add_calendar_days(self, start: date, n: int) -> DueDate:
        return DueDate(date.fromordinal(start.toordinal() + n), True)

    def working_days_between(self, after: date, through: date) -> tuple[int, bool]:
        raise NotImplementedError

    def calendar_days_between(self, after: date, through: date) -> tuple[int, bool]:
        raise NotImplementedError


def test_time_limits_count_days_or_fall_on_a_day_of_the_next_month_or_year() -> None:
    calendar = _Calendar()
    assert TimeLimit("x", days=20, unit=LimitUnit.CALENDAR).due(date(2026, 12, 31), calendar) == DueDate(
        date(2027, 1, 20), True
    )
    assert TimeLimit("x", next_month_day=15).due(date(2026, 12, 31), calendar).date == date(2027, 1, 15)
    assert TimeLimit("x", next_month_day=15).due(date(2026, 3, 31), calendar).date == date(2026, 4, 15)
    assert TimeLimit("x", next_year_date=(1, 31)).due(date(2026, 12, 31), calendar).date == date(2027, 1, 31)
