"""Building one directory entry version from a (merged) mapping, every problem at its line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from gkflow.catalogue.values import as_date, check_keys, whole_number
from gkflow.config.cron import check_cron
from gkflow.config.yaml_lines import Problems, line_of
from gkflow.domain.errors import InvalidConfig
from gkflow.domain.items import LimitUnit
from gkflow.domain.openness import (
    CHANNELS,
    PERIOD_WORDS,
    Basis,
    Cadence,
    CadenceKind,
    Entry,
    PeriodKind,
    TimeLimit,
)
from gkflow.domain.topics import TRIGGERS

ENTRY_KEYS = {
    "name",
    "version",
    "effective_from",
    "basis",
    "content",
    "department",
    "time_limit",
    "channels",
    "audience",
    "requirements",
    "cadence",
    "task",
    "versions",
}
VERSION_KEYS = ENTRY_KEYS - {"versions"}
REQUIRED = (
    "name",
    "basis",
    "content",
    "department",
    "time_limit",
    "channels",
    "audience",
    "requirements",
    "cadence",
)
BASIS_KEYS = {"title", "text", "local"}
LIMIT_KEYS = {"text", "days", "unit", "next_month_day", "next_year_date", "assumption"}
CADENCE_KEYS = {"kind", "period", "cron", "item", "trigger", "event", "text"}
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class References:
    """What entries may point at: publication tasks (with their schedules.yaml cron) and the
    catalogue's items with the triggers their transitions write. None: not checked."""

    task_crons: Mapping[str, str | None] | None = None
    item_triggers: Mapping[str, frozenset[str]] | None = None


def _text(raw: Mapping[str, Any], key: str, problems: Problems, what: str = "") -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.add(line_of(raw, key), f"{what}{key} must be non-empty text")
        return ""
    return value.strip()


def _basis(raw: Any, line: int, problems: Problems) -> tuple[Basis, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(line, "basis: a list of provisions, each {title, text}")
        return ()
    result = []
    for entry in raw:
        if not isinstance(entry, dict):
            problems.add(line_of(raw), "basis: each provision is {title, text, local?}")
            continue
        check_keys(entry, BASIS_KEYS, "basis", problems)
        title, text = entry.get("title"), entry.get("text")
        if not isinstance(title, str) or not title.strip():
            problems.add(line_of(entry), "basis: a provision needs its title (the law and article)")
            continue
        if not isinstance(text, str) or not text.strip():
            problems.add(line_of(entry), f"basis: '{title}' needs the text relied on")
            continue
        result.append(Basis(title.strip(), text.strip(), bool(entry.get("local", False))))
    return tuple(result)


def _time_limit(raw: Any, line: int, problems: Problems) -> TimeLimit | None:
    if not isinstance(raw, dict):
        problems.add(line, "time_limit: expected {text, days, unit} (or next_month_day / next_year_date)")
        return None
    check_keys(raw, LIMIT_KEYS, "time_limit", problems)
    before = len(problems.items)
    text = _text(raw, "text", problems, "time_limit: ")
    if not text:
        problems.add(line_of(raw), "time_limit: needs its text as the basis words it (e.g. 20个工作日内)")
    rules = [k for k in ("days", "next_month_day", "next_year_date") if raw.get(k) is not None]
    if len(rules) != 1:
        problems.add(line_of(raw), "time_limit: give exactly one of days, next_month_day, next_year_date")
        return None
    assumption = _text(raw, "assumption", problems, "time_limit: ") or None
    limit = TimeLimit(text, assumption=assumption)
    if rules[0] == "days":
        days = whole_number(raw["days"], 1)
        unit = raw.get("unit", "working")
        if days is None:
            problems.add(
                line_of(raw, "days"), f"time_limit: days must be a whole number >= 1, got {raw['days']!r}"
            )
        if unit not in ("working", "calendar"):
            problems.add(
                line_of(raw, "unit"), f"time_limit: unit must be 'working' or 'calendar', got {unit!r}"
            )
        if days is not None and unit in ("working", "calendar"):
            limit = TimeLimit(text, days=days, unit=LimitUnit(unit), assumption=assumption)
    elif rules[0] == "next_month_day":
        day = whole_number(raw["next_month_day"], 1)
        if day is None or day > 28:
            problems.add(
                line_of(raw, "next_month_day"), "time_limit: next_month_day must be a day from 1 to 28"
            )
        else:
            limit = TimeLimit(text, next_month_day=day, assumption=assumption)
    else:
        match = re.fullmatch(r"(\d{2})-(\d{2})", str(raw["next_year_date"]))
        if not match or _day_of_year(int(match[1]), int(match[2])) is None:
            problems.add(
                line_of(raw, "next_year_date"),
                "time_limit: next_year_date must be MM-DD, a day every year has, e.g. '01-31'",
            )
        else:
            limit = TimeLimit(text, next_year_date=(int(match[1]), int(match[2])), assumption=assumption)
    return limit if len(problems.items) == before else None


def _day_of_year(month: int, day: int) -> date | None:
    """The day in a common year (so 02-29 is refused), or None if there is no such day."""
    try:
        return date(2001, month, day)
    except ValueError:
        return None


def _cadence(raw: Any, line: int, task: str | None, refs: References, problems: Problems) -> Cadence | None:
    if not isinstance(raw, dict):
        problems.add(line, "cadence: expected {kind: periodic|event|change, …}")
        return None
    check_keys(raw, CADENCE_KEYS, "cadence", problems)
    before = len(problems.items)
    kind_text = raw.get("kind")
    if kind_text not in {k.value for k in CadenceKind}:
        problems.add(
            line_of(raw, "kind"), f"cadence: kind must be periodic, event or change, got {kind_text!r}"
        )
        return None
    kind = CadenceKind(kind_text)
    text = _text(raw, "text", problems, "cadence: ")
    if kind is CadenceKind.PERIODIC:
        return _periodic(raw, text, task, refs, problems, before)
    for key in ("period", "cron"):
        if raw.get(key) is not None:
            problems.add(line_of(raw, key), f"cadence: '{key}' belongs to periodic entries only")
    if kind is CadenceKind.CHANGE:
        for key in ("item", "trigger", "event"):
            if raw.get(key) is not None:
                problems.add(line_of(raw, key), f"cadence: '{key}' belongs to event entries only")
        cadence = Cadence(kind, text=text or "信息形成或者变更时")
        return cadence if len(problems.items) == before else None
    return _event(raw, text, refs, problems, before)


def _periodic(
    raw: Mapping[str, Any], text: str, task: str | None, refs: References, problems: Problems, before: int
) -> Cadence | None:
    period = raw.get("period")
    if period not in {p.value for p in PeriodKind}:
        problems.add(
            line_of(raw, "period"),
            f"cadence: a periodic entry needs period monthly, quarterly or annual, got {period!r}",
        )
    cron = raw.get("cron")
    scheduled = refs.task_crons.get(task) if refs.task_crons is not None and task else None
    if cron is None and scheduled is None:
        problems.add(line_of(raw), "cadence: a periodic entry needs its cron (Asia/Shanghai)")
    elif cron is not None:
        try:
            check_cron(str(cron), SHANGHAI)
        except InvalidConfig as exc:
            problems.add(line_of(raw, "cron"), f"cadence: {exc.message}")
        if scheduled is not None and str(cron).split() != scheduled.split():
            problems.add(
                line_of(raw, "cron"),
                f"cadence: cron '{cron}' differs from the schedule of task "
                f"'{task}' in schedules.yaml ('{scheduled}'): cadences live there",
            )
    for key in ("item", "trigger", "event"):
        if raw.get(key) is not None:
            problems.add(line_of(raw, key), f"cadence: '{key}' belongs to event entries only")
    if len(problems.items) > before:
        return None
    kind = PeriodKind(str(period))
    return Cadence(
        CadenceKind.PERIODIC, period=kind, cron=str(cron or scheduled), text=text or PERIOD_WORDS[kind]
    )


def _event(
    raw: Mapping[str, Any], text: str, refs: References, problems: Problems, before: int
) -> Cadence | None:
    item, trigger, event = raw.get("item"), raw.get("trigger"), raw.get("event")
    if item is None and event is None:
        problems.add(
            line_of(raw),
            "cadence: an event entry names the case item and trigger that drive it "
            "(item, trigger) or the outside event (event)",
        )
    if (item is None) != (trigger is None):
        problems.add(line_of(raw), "cadence: 'item' and 'trigger' go together")
    if trigger is not None and trigger not in TRIGGERS:
        problems.add(
            line_of(raw, "trigger"),
            f"cadence: unknown trigger '{trigger}'; known: {', '.join(sorted(TRIGGERS))}",
        )
    elif item is not None and refs.item_triggers is not None:
        if item not in refs.item_triggers:
            problems.add(line_of(raw, "item"), f"cadence: unknown item '{item}' (config/items/)")
        elif trigger not in refs.item_triggers[item]:
            problems.add(
                line_of(raw, "trigger"),
                f"cadence: no transition of item '{item}' writes the trigger '{trigger}'",
            )
    if len(problems.items) > before:
        return None
    return Cadence(CadenceKind.EVENT, item=item, trigger=trigger, event=event, text=text or "事件发生后")


def build_entry(
    code: str, raw: Mapping[str, Any], *, area: str, area_code: str, refs: References, problems: Problems
) -> Entry | None:
    """The entry version ``raw`` describes, or None after reporting its problems."""
    before = len(problems.items)
    where = line_of(raw)
    if not CODE.match(code):
        problems.add(where, f"entry code '{code}' must be lower-case letters, digits and '-'")
    for key in REQUIRED:
        if raw.get(key) in (None, "", []):
            problems.add(where, f"entry '{code}': missing '{key}'")
    version = whole_number(raw.get("version"), 1)
    if version is None:
        problems.add(
            line_of(raw, "version"),
            f"entry '{code}': version must be a whole number >= 1, got {raw.get('version')!r}",
        )
    effective_from = as_date(raw.get("effective_from"))
    if effective_from is None:
        problems.add(
            line_of(raw, "effective_from"), f"entry '{code}': effective_from must be a date (YYYY-MM-DD)"
        )
    basis = _basis(raw.get("basis"), line_of(raw, "basis"), problems) if raw.get("basis") else ()
    limit = (
        _time_limit(raw["time_limit"], line_of(raw, "time_limit"), problems)
        if raw.get("time_limit")
        else None
    )
    task = raw.get("task")
    if task is not None and (
        not isinstance(task, str) or (refs.task_crons is not None and task not in refs.task_crons)
    ):
        known = ", ".join(sorted(refs.task_crons or ()))
        problems.add(
            line_of(raw, "task"), f"entry '{code}': unknown publication task {task!r} (known: {known})"
        )
    cadence = (
        _cadence(raw["cadence"], line_of(raw, "cadence"), task, refs, problems)
        if raw.get("cadence")
        else None
    )
    channels = _channels(raw.get("channels"), line_of(raw, "channels"), problems)
    texts = {
        key: _text(raw, key, problems)
        for key in ("name", "content", "department", "audience", "requirements")
    }
    if (
        len(problems.items) > before
        or version is None
        or effective_from is None
        or limit is None
        or cadence is None
    ):
        return None
    return Entry(
        code=code,
        version=version,
        effective_from=effective_from,
        area=area,
        area_code=area_code,
        basis=basis,
        time_limit=limit,
        cadence=cadence,
        channels=channels,
        task=task,
        source=problems.source,
        **texts,
    )


def _channels(raw: Any, line: int, problems: Problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        problems.add(line, f"channels: a list of {', '.join(CHANNELS)}")
        return ()
    for channel in raw:
        if channel not in CHANNELS:
            problems.add(line, f"channels: unknown channel '{channel}'; known: {', '.join(CHANNELS)}")
    return tuple(raw)
