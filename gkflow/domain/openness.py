"""The standard directory of openness items (政务公开事项标准目录): entries and their time rules.

An entry is one kind of information a department must publish, with the six elements of the
national pilot (name, basis, content, responsible body, time limit, channel) plus its audience and
requirements, and a cadence: periodic (a period a month, quarter or year), event-driven (a case
transition or an external event) or on change. Pure data and date arithmetic; loaded and checked by
``gkflow.openness``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gkflow.domain.calendar import DueDate
from gkflow.domain.deadlines import Calendar
from gkflow.domain.items import LimitUnit

LOCAL_TEXT_NOTE = "以公布文本为准"

# 公开渠道: where an entry is published, and how the public pages name each one.
CHANNELS: dict[str, str] = {
    "website": "政府门户网站",
    "new_media": "政务新媒体",
    "notice_board": "公示栏",
    "hall": "政务服务大厅",
    "press": "报刊广播电视",
    "archive": "档案馆、公共图书馆查阅点",
}


class CadenceKind(StrEnum):
    PERIODIC = "periodic"  # one publication per month, quarter or year
    EVENT = "event"  # one publication per event: a case transition or an external event
    CHANGE = "change"  # whenever the information is formed or changes


class PeriodKind(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


PERIOD_WORDS = {PeriodKind.MONTHLY: "每月", PeriodKind.QUARTERLY: "每季度", PeriodKind.ANNUAL: "每年"}


@dataclass(frozen=True)
class Basis:
    """One legal or policy provision: its citation and the text relied on."""

    title: str
    text: str
    local: bool = False  # a local rule or a reading not checked against the published text


@dataclass(frozen=True)
class TimeLimit:
    """When a publication is due, counted from the day the information is formed.

    Exactly one rule applies: ``days`` after formation (working or calendar days), by a day of the
    month after formation (``next_month_day``), or by a date of the year after (``next_year_date``).
    """

    text: str
    days: int | None = None
    unit: LimitUnit = LimitUnit.WORKING
    next_month_day: int | None = None
    next_year_date: tuple[int, int] | None = None  # (month, day)
    assumption: str | None = None  # a local assumption, shown with 以公布文本为准

    def due(self, formed_on: date, calendar: Calendar) -> DueDate:
        """The due date of information formed on ``formed_on``."""
        if self.days is not None:
            if self.unit is LimitUnit.WORKING:
                return calendar.add_working_days(formed_on, self.days)
            return calendar.add_calendar_days(formed_on, self.days)
        if self.next_month_day is not None:
            year, month = (
                (formed_on.year + 1, 1) if formed_on.month == 12 else (formed_on.year, formed_on.month + 1)
            )
            return DueDate(date(year, month, self.next_month_day), False)
        assert self.next_year_date is not None
        month, day = self.next_year_date
        return DueDate(date(formed_on.year + 1, month, day), False)


@dataclass(frozen=True)
class Cadence:
    kind: CadenceKind
    period: PeriodKind | None = None  # periodic entries
    cron: str | None = None  # periodic entries: when it is scheduled, in Asia/Shanghai
    item: str | None = None  # event entries driven by a case: the service item's code
    trigger: str | None = None  # ... and the outbox trigger its transition writes
    event: str | None = None  # event entries driven from outside: what the event is
    text: str = ""  # how the public pages say it


@dataclass(frozen=True)
class Entry:
    """One version of one directory entry."""

    code: str
    version: int
    effective_from: date
    area: str
    area_code: str
    name: str
    basis: tuple[Basis, ...]
    content: str
    department: str
    time_limit: TimeLimit
    channels: tuple[str, ...]
    audience: str
    requirements: str
    cadence: Cadence
    task: str | None = None  # the publication task that publishes it automatically
    source: str = ""  # file the version was loaded from

    @property
    def automated(self) -> bool:
        """Published by gkflow itself (a publication task or a case trigger)."""
        return self.task is not None or self.cadence.trigger is not None

    def channel_names(self) -> list[str]:
        """The channels in words."""
        return [CHANNELS.get(c, c) for c in self.channels]


@dataclass(frozen=True)
class Area:
    """One pilot area (试点领域): the entries of one directory file."""

    code: str
    name: str
    description: str
    order: int = 99  # the plan's order of the pilot areas
