"""Builds the `WorkingCalendar` from the chinese-calendar package and `config/calendar.yaml`.

The package supplies every year whose State Council notice it ships; the config file adds local
days off / on and official years the package does not have yet (overriding it for the same year).
For provisional years the lunar festivals come from lunar-python (Spring Festival, Dragon Boat and
Mid-Autumn from the lunar calendar, Qingming from the solar term) for any year; the file may still
pin a year's dates. See the comments in config/calendar.yaml.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from datetime import date
from functools import lru_cache
from pathlib import Path

import chinese_calendar.constants as cc
import yaml

from gkflow.domain.calendar import FESTIVAL_KEYS, WorkingCalendar, YearSchedule
from gkflow.domain.errors import InvalidConfig

__all__ = ["CALENDAR_FILE", "festival_dates", "load_calendar", "package_schedules"]

CALENDAR_FILE = "calendar.yaml"

_TOP_KEYS = frozenset({"local_holidays", "local_workdays", "years", "provisional_festivals"})
_YEAR_KEYS = frozenset({"holidays", "workdays"})

# Plausible windows (month, day) for each festival's Gregorian date; a date outside is a typo.
_FESTIVAL_WINDOWS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "spring_festival": ((1, 21), (2, 20)),
    "qingming": ((4, 4), (4, 6)),
    "dragon_boat": ((5, 28), (6, 25)),
    "mid_autumn": ((9, 7), (10, 8)),
}

_Dated = list[tuple[date, yaml.Node]]  # parsed dates, each with its node for error lines

_cache: dict[str, tuple[tuple[int, int] | None, WorkingCalendar]] = {}
_cache_lock = threading.Lock()


def load_calendar(config_dir: Path) -> WorkingCalendar:
    """The working-day calendar for `config_dir`; cached until calendar.yaml's mtime/size change.

    A missing calendar.yaml is an error: silently dropping local days and official years that the
    package does not have yet would shift deadlines without anyone noticing.
    """
    path = os.path.join(config_dir, CALENDAR_FILE)
    # abspath, not resolve(): far cheaper on this per-transition path, and a symlinked alias
    # only costs a second cache entry.
    key = os.path.abspath(path)
    try:
        stat = os.stat(key)
        version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        raise InvalidConfig(
            f"{key}: the working-day calendar file is missing (config dir {os.path.abspath(config_dir)}; "
            "set GKFLOW_CONFIG_DIR to the folder that holds calendar.yaml)"
        ) from None
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
    text = Path(key).read_text(encoding="utf-8")
    calendar = _build(Path(path), text)
    with _cache_lock:
        _cache[key] = (version, calendar)
    return calendar


@lru_cache(maxsize=512)
def festival_dates(year: int) -> dict[str, date]:
    """The Gregorian dates of the lunar festivals and of Qingming in ``year`` (Beijing time)."""
    from lunar_python import Lunar, Solar

    def solar(lunar_month: int, lunar_day: int) -> date:
        s = Lunar.fromYmd(year, lunar_month, lunar_day).getSolar()
        return date(s.getYear(), s.getMonth(), s.getDay())

    qingming = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return {
        "spring_festival": solar(1, 1),
        "qingming": date(qingming.getYear(), qingming.getMonth(), qingming.getDay()),
        "dragon_boat": solar(5, 5),
        "mid_autumn": solar(8, 15),
    }


def package_schedules() -> dict[int, YearSchedule]:
    holidays: dict[int, set[date]] = defaultdict(set)
    workdays: dict[int, set[date]] = defaultdict(set)
    for day in cc.holidays:
        holidays[day.year].add(day)
    for day in cc.workdays:
        workdays[day.year].add(day)
    return {
        year: YearSchedule(year, frozenset(holidays[year]), frozenset(workdays[year]))
        for year in sorted(holidays.keys() | workdays.keys())
    }


def _build(path: Path, text: str | None) -> WorkingCalendar:
    parsed = _ConfigFile(path, text)
    official = package_schedules()
    # A year's notice may name a day in the neighbouring year (2012's: "2011年12月31日上班");
    # such days are merged into that neighbour's schedule after all overrides are in place.
    spill: list[tuple[str, date, yaml.Node, int]] = []
    for year, (holidays, workdays) in parsed.years.items():
        own: dict[str, set[date]] = {"holidays": set(), "workdays": set()}
        for kind, days in (("holidays", holidays), ("workdays", workdays)):
            for day, node in days:
                if day.year == year:
                    own[kind].add(day)
                elif abs(day.year - year) == 1:
                    spill.append((kind, day, node, year))
                else:
                    raise parsed.error(node, f"{day.isoformat()} is not in or next to {year}")
        official[year] = parsed.schedule(year, own["holidays"], own["workdays"], None)
    for kind, day, node, listed_under in spill:
        base = official.get(day.year)
        if base is None:
            raise parsed.error(
                node,
                f"{day.isoformat()} (listed under {listed_under}) lies in {day.year}, "
                f"which has no official schedule",
            )
        holidays_ = set(base.holidays) | ({day} if kind == "holidays" else set())
        workdays_ = set(base.workdays) | ({day} if kind == "workdays" else set())
        official[day.year] = parsed.schedule(day.year, holidays_, workdays_, node)
    local_off = parsed.local_holidays
    local_on = parsed.local_workdays
    off_days = {d for d, _ in local_off}
    for day, node in local_on:
        if day in off_days:
            raise parsed.error(node, f"{day.isoformat()} is both a local holiday and a local workday")
    return WorkingCalendar(
        official,
        provisional_festivals=parsed.festivals,
        local_holidays=off_days,
        local_workdays={d for d, _ in local_on},
        festival_source=festival_dates,
    )


class _ConfigFile:
    """calendar.yaml parsed from the node tree, so every error can name its line."""

    def __init__(self, path: Path, text: str | None) -> None:
        self.path = path
        self.local_holidays: _Dated = []
        self.local_workdays: _Dated = []
        self.years: dict[int, tuple[_Dated, _Dated]] = {}
        self.festivals: dict[int, dict[str, date]] = {}
        self._year_nodes: dict[int, yaml.Node] = {}
        if text is None:
            return
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise InvalidConfig(f"{path}:{line}: not valid YAML: {exc.problem}") from None
        except yaml.YAMLError as exc:
            raise InvalidConfig(f"{path}:1: not valid YAML: {exc}") from None
        if root is None:
            return
        top = self._mapping(root, "the file")
        for key_node, value in top:
            key = key_node.value
            if key not in _TOP_KEYS:
                raise self.error(key_node, f"unknown key {key!r} (expected {', '.join(sorted(_TOP_KEYS))})")
            if key == "local_holidays":
                self.local_holidays = self._dates(value, "local_holidays")
            elif key == "local_workdays":
                self.local_workdays = self._dates(value, "local_workdays")
            elif key == "years":
                self._read_years(value)
            else:
                self._read_festivals(value)

    def error(self, node: yaml.Node, message: str) -> InvalidConfig:
        return InvalidConfig(f"{self.path}:{node.start_mark.line + 1}: {message}")

    def schedule(
        self,
        year: int,
        holidays: set[date],
        workdays: set[date],
        node: yaml.Node | None,
    ) -> YearSchedule:
        try:
            return YearSchedule(year, frozenset(holidays), frozenset(workdays))
        except InvalidConfig as exc:
            node = node or self._year_nodes.get(year)
            if node is None:
                raise
            raise self.error(node, exc.message) from None

    # --- sections ------------------------------------------------------------------------

    def _read_years(self, node: yaml.Node) -> None:
        if _is_null(node):
            return
        for key_node, value in self._mapping(node, "years"):
            year = self._year(key_node)
            self._year_nodes[year] = key_node
            fields = self._mapping(value, f"years.{year}")
            parts: dict[str, _Dated] = {"holidays": [], "workdays": []}
            for field_node, days in fields:
                if field_node.value not in _YEAR_KEYS:
                    raise self.error(
                        field_node,
                        f"unknown key {field_node.value!r} in years.{year} (expected holidays, workdays)",
                    )
                parts[field_node.value] = self._dates(days, f"years.{year}.{field_node.value}")
            if not parts["holidays"]:
                raise self.error(key_node, f"years.{year} lists no holidays")
            self.years[year] = (parts["holidays"], parts["workdays"])
            # Check in-year clashes here, where each day still has its own line.
            on = {d: n for d, n in parts["workdays"]}
            for day, _ in parts["holidays"]:
                if day in on:
                    raise self.error(on[day], f"{day.isoformat()} is both a holiday and a workday")
            for day, day_node in parts["workdays"]:
                if day.weekday() < 5:
                    raise self.error(
                        day_node,
                        f"make-up workday {day.isoformat()} is a {day.strftime('%A')}, not a weekend day",
                    )

    def _read_festivals(self, node: yaml.Node) -> None:
        if _is_null(node):
            return
        for key_node, value in self._mapping(node, "provisional_festivals"):
            year = self._year(key_node)
            found: dict[str, date] = {}
            for name_node, date_node in self._mapping(value, f"provisional_festivals.{year}"):
                name = name_node.value
                if name not in FESTIVAL_KEYS:
                    raise self.error(
                        name_node,
                        f"unknown festival {name!r} (expected {', '.join(sorted(FESTIVAL_KEYS))})",
                    )
                day = self._date(date_node)
                (m0, d0), (m1, d1) = _FESTIVAL_WINDOWS[name]
                if day.year != year or not (m0, d0) <= (day.month, day.day) <= (m1, d1):
                    raise self.error(
                        date_node,
                        f"{name} {day.isoformat()} is not a possible date for {year} "
                        f"(expected {year}-{m0:02}-{d0:02} to {year}-{m1:02}-{d1:02})",
                    )
                found[name] = day
            missing = sorted(FESTIVAL_KEYS - found.keys())
            if missing:
                raise self.error(key_node, f"provisional_festivals.{year} is missing {', '.join(missing)}")
            self.festivals[year] = found

    # --- node helpers --------------------------------------------------------------------

    def _mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, f"keys in {what} must be plain values")
            if key_node.value in seen:
                raise self.error(key_node, f"duplicate key {key_node.value!r} in {what}")
            seen.add(key_node.value)
        return list(node.value)

    def _dates(self, node: yaml.Node, what: str) -> _Dated:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list of dates (YYYY-MM-DD)")
        days: dict[date, yaml.Node] = {}
        for item in node.value:
            day = self._date(item)
            if day in days:
                raise self.error(item, f"{day.isoformat()} is listed twice in {what}")
            days[day] = item
        return list(days.items())

    def _date(self, node: yaml.Node) -> date:
        text = node.value if isinstance(node, yaml.ScalarNode) else None
        try:
            if not isinstance(text, str) or len(text) != 10:
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            shown = text if isinstance(text, str) else f"a {type(node).__name__.removesuffix('Node').lower()}"
            raise self.error(node, f"{shown!r} is not a date (expected YYYY-MM-DD)") from None

    def _year(self, node: yaml.Node) -> int:
        text = node.value
        if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) == 4):
            raise self.error(node, f"{text!r} is not a year (expected e.g. 2027)")
        return int(text)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
