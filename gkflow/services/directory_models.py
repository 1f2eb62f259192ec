"""Read models of the openness directory: entries with their elements, ledger rows and punctuality.
The public pages, the open data (JSON) and `gkflow openness … --json` all answer with these."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from gkflow.domain.openness import LOCAL_TEXT_NOTE, Entry


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class BasisView(_Model):
    title: str
    text: str
    local: bool


class TimeLimitView(_Model):
    text: str
    rule: str  # "20个工作日" / "次月15日前" / "次年01-31前"
    assumption: str | None


class CadenceView(_Model):
    kind: str  # periodic | event | change
    text: str
    period: str | None
    cron: str | None
    item: str | None
    trigger: str | None
    event: str | None


class LedgerRowView(_Model):
    """One publication an entry owes (公开台账), recorded or still open."""

    id: int | None  # None: a period whose row is not written yet (nothing recorded)
    entry: str
    entry_name: str
    department: str
    kind: str
    subject: str
    title: str
    formed_on: date
    due_on: date
    due_provisional: bool
    status: str  # open | published
    published_on: date | None
    url: str | None
    evidence_sha256: str | None
    on_time: bool | None  # None while still open
    late: bool  # published after the due date, or still open past it
    source: str  # directory (recorded here) | publication (the publication ledger)


class Punctuality(_Model):
    """How an entry (or a department) has kept its time limits so far."""

    published: int
    on_time: int
    published_late: int
    open_overdue: int
    open_not_due: int

    @property
    def rate(self) -> float | None:
        """On-time share of what was due (published, or open past its due date)."""
        due = self.published + self.open_overdue
        return self.on_time / due if due else None


class EntrySummary(_Model):
    code: str
    name: str
    area: str
    department: str
    version: int
    effective_from: date
    cadence: str


class EntryView(_Model):
    """An entry with the six elements, audience, requirements, cadence and its record."""

    code: str
    version: int
    effective_from: date
    versions: list[int]
    area: str
    area_code: str
    name: str
    basis: list[BasisView]
    content: str
    department: str
    time_limit: TimeLimitView
    channels: list[str]
    audience: str
    requirements: str
    cadence: CadenceView
    automated: bool
    task: str | None
    local_note: str
    latest: LedgerRowView | None
    punctuality: Punctuality


def summary_of(entry: Entry) -> EntrySummary:
    """The short form `openness list` prints."""
    return EntrySummary(
        code=entry.code,
        name=entry.name,
        area=entry.area,
        department=entry.department,
        version=entry.version,
        effective_from=entry.effective_from,
        cadence=entry.cadence.kind.value,
    )


def rule_text(entry: Entry) -> str:
    """The time rule in words, as computed (not as quoted)."""
    limit = entry.time_limit
    if limit.days is not None:
        return f"{limit.days}个{'工作日' if limit.unit.value == 'working' else '自然日'}"
    if limit.next_month_day is not None:
        return f"次月{limit.next_month_day}日前"
    assert limit.next_year_date is not None
    return f"次年{limit.next_year_date[0]}月{limit.next_year_date[1]}日前"


def view_of(
    entry: Entry, versions: list[int], latest: LedgerRowView | None, punctuality: Punctuality
) -> EntryView:
    """The full view of one entry version."""
    cadence = entry.cadence
    return EntryView(
        code=entry.code,
        version=entry.version,
        effective_from=entry.effective_from,
        versions=versions,
        area=entry.area,
        area_code=entry.area_code,
        name=entry.name,
        basis=[BasisView(title=b.title, text=b.text, local=b.local) for b in entry.basis],
        content=entry.content,
        department=entry.department,
        time_limit=TimeLimitView(
            text=entry.time_limit.text, rule=rule_text(entry), assumption=entry.time_limit.assumption
        ),
        channels=entry.channel_names(),
        audience=entry.audience,
        requirements=entry.requirements,
        cadence=CadenceView(
            kind=cadence.kind.value,
            text=cadence.text,
            period=cadence.period.value if cadence.period else None,
            cron=cadence.cron,
            item=cadence.item,
            trigger=cadence.trigger,
            event=cadence.event,
        ),
        automated=entry.automated,
        task=entry.task,
        local_note=LOCAL_TEXT_NOTE,
        latest=latest,
        punctuality=punctuality,
    )
