"""The directory's ledger (公开台账): every publication an entry owes, from its effective date on.

Three sources make one list. Entries published by a publication task read the publication ledger;
event entries driven by a case are opened by their trigger (``services.licence_publicity``); all
other entries are recorded by their department (where and when it published, with evidence). A
periodic entry owes one row per period formed since its first version took effect, so a period
nobody recorded shows as open, and a fresh install shows nothing overdue.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from gkflow.db.models import table_of
from gkflow.db.openness_models import OpennessRow
from gkflow.domain.errors import Conflict
from gkflow.domain.openness import CadenceKind, Entry, PeriodKind
from gkflow.openness import Directory
from gkflow.publication.periods import Cadence, last_formed, parse_period, period_containing, periods_between
from gkflow.publication.status import publication_status
from gkflow.runtime import Runtime
from gkflow.services.directory_models import LedgerRowView, Punctuality
from gkflow.services.openness import load_directory

ledger_t = table_of(OpennessRow)
OPEN, PUBLISHED = "open", "published"
PERIOD_CADENCE = {
    PeriodKind.MONTHLY: Cadence.MONTHLY,
    PeriodKind.QUARTERLY: Cadence.QUARTERLY,
    PeriodKind.ANNUAL: Cadence.ANNUAL,
}


def _view(
    entry: Entry,
    *,
    row_id: int | None,
    subject: str,
    title: str,
    formed_on: date,
    due_on: date,
    provisional: bool,
    published_on: date | None,
    url: str | None,
    evidence: str | None,
    today: date,
    source: str,
) -> LedgerRowView:
    on_time = published_on <= due_on if published_on is not None else None
    late = (not on_time) if on_time is not None else today > due_on
    return LedgerRowView(
        id=row_id,
        entry=entry.code,
        entry_name=entry.name,
        department=entry.department,
        kind=entry.cadence.kind.value,
        subject=subject,
        title=title,
        formed_on=formed_on,
        due_on=due_on,
        due_provisional=provisional,
        status=PUBLISHED if published_on else OPEN,
        published_on=published_on,
        url=url,
        evidence_sha256=evidence,
        on_time=on_time,
        late=late,
        source=source,
    )


def owed_periods(directory: Directory, entry: Entry, today: date) -> list[str]:
    """The periods a periodic entry owes a publication for: formed (ended) before ``today`` and not
    before its first version took effect."""
    assert entry.cadence.period is not None
    cadence = PERIOD_CADENCE[entry.cadence.period]
    start = directory.first(entry.code).effective_from
    first, last = period_containing(cadence, start), last_formed(cadence, today)
    if last < first:
        return []
    return [p.label for p in periods_between(first, last) if p.last_day >= start]


def _recorded(rt: Runtime, codes: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    with rt.engine.connect() as conn:
        rows = conn.execute(select(ledger_t).where(ledger_t.c.entry.in_(codes))).mappings().all()
    return {(r["entry"], r["subject"]): dict(r) for r in rows}


def _from_publications(
    rt: Runtime, directory: Directory, entry: Entry, today: date, status: list[dict[str, Any]]
) -> list[LedgerRowView]:
    """An automated entry's rows, read from the publication ledger of its task."""
    start = directory.first(entry.code).effective_from
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in status:
        if row["task"] == entry.task and date.fromisoformat(row["formed_on"]) >= start:
            grouped.setdefault((row["subject"], row["period"]), []).append(row)
    views = []
    for (subject, period), rows in sorted(grouped.items()):
        published = sorted((r for r in rows if r["published_at"]), key=lambda r: r["published_at"])
        first = published[0] if published else rows[0]
        views.append(
            _view(
                entry,
                row_id=None,
                subject=f"{subject} {period}".strip(),
                title="",
                formed_on=date.fromisoformat(first["formed_on"]),
                due_on=date.fromisoformat(first["due_on"]),
                provisional=bool(first["due_provisional"]),
                published_on=date.fromisoformat(first["published_at"][:10]) if published else None,
                url=None,
                evidence=None,
                today=today,
                source="publication",
            )
        )
    return views


def ledger(
    rt: Runtime, *, department: str | None = None, entry: str | None = None, today: date | None = None
) -> list[LedgerRowView]:
    """Every row the directory's entries owe, oldest due first (``department``'s or ``entry``'s only)."""
    directory = load_directory(rt.settings)
    today = today or rt.local_date(rt.now())
    chosen = [
        e
        for e in directory.entries()
        if (department is None or e.department == department) and (entry is None or e.code == entry)
    ]
    recorded = _recorded(rt, [e.code for e in chosen])
    status = publication_status(rt, today=today) if any(e.task for e in chosen) else []
    calendar = rt.calendar
    views: list[LedgerRowView] = []
    for current in chosen:
        if current.task:
            views += _from_publications(rt, directory, current, today, status)
            continue
        for (code, subject), row in recorded.items():
            if code == current.code:
                views.append(
                    _view(
                        current,
                        row_id=row["id"],
                        subject=subject,
                        title=row["title"],
                        formed_on=row["formed_on"],
                        due_on=row["due_on"],
                        provisional=bool(row["due_provisional"]),
                        published_on=row["published_on"],
                        url=row["url"],
                        evidence=row["evidence_sha256"],
                        today=today,
                        source="directory",
                    )
                )
        if current.cadence.kind is CadenceKind.PERIODIC:
            for period in owed_periods(directory, current, today):
                if (current.code, period) in recorded:
                    continue
                formed = parse_period(
                    PERIOD_CADENCE[current.cadence.period or PeriodKind.MONTHLY], period
                ).last_day
                version = directory.in_force(current.code, formed) or current
                due = version.time_limit.due(formed, calendar)
                views.append(
                    _view(
                        current,
                        row_id=None,
                        subject=period,
                        title="",
                        formed_on=formed,
                        due_on=due.date,
                        provisional=due.provisional,
                        published_on=None,
                        url=None,
                        evidence=None,
                        today=today,
                        source="directory",
                    )
                )
    views.sort(key=lambda v: (v.due_on, v.entry, v.subject))
    return views


def punctuality(rows: list[LedgerRowView]) -> Punctuality:
    """Counts of on-time, late and open rows."""
    published = [r for r in rows if r.published_on is not None]
    return Punctuality(
        published=len(published),
        on_time=sum(1 for r in published if r.on_time),
        published_late=sum(1 for r in published if not r.on_time),
        open_overdue=sum(1 for r in rows if r.published_on is None and r.late),
        open_not_due=sum(1 for r in rows if r.published_on is None and not r.late),
    )


def open_event_row(
    conn: Connection,
    entry: Entry,
    *,
    subject: str,
    formed_on: date,
    due: Any,
    at: datetime,
    actor: str,
    case_no: str | None = None,
    title: str = "",
    detail: dict[str, Any] | None = None,
) -> int:
    """The open row of one event (the existing one if it was opened before); returns its id."""
    found = conn.execute(
        select(ledger_t.c.id).where(ledger_t.c.entry == entry.code, ledger_t.c.subject == subject)
    ).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            ledger_t.insert()
            .values(
                entry=entry.code,
                entry_version=entry.version,
                department=entry.department,
                kind=entry.cadence.kind.value,
                subject=subject,
                title=title,
                formed_on=formed_on,
                due_on=due.date,
                due_provisional=due.provisional,
                status=OPEN,
                opened_at=at,
                opened_by=actor,
                case_no=case_no,
                detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
            )
            .returning(ledger_t.c.id)
        ).scalar_one()
    )


def close_row(
    conn: Connection,
    row_id: int,
    *,
    published_on: date,
    at: datetime,
    url: str | None,
    recorded_by: str,
    evidence: tuple[str, str] | None = None,
    note: str | None = None,
) -> None:
    """Mark a row published (only an open row: a second recording is a Conflict)."""
    changed = conn.execute(
        update(ledger_t)
        .where(ledger_t.c.id == row_id, ledger_t.c.status == OPEN)
        .values(
            status=PUBLISHED,
            published_on=published_on,
            published_at=at,
            url=url,
            recorded_by=recorded_by,
            evidence_name=evidence[0] if evidence else None,
            evidence_sha256=evidence[1] if evidence else None,
            note=note,
        )
    ).rowcount
    if changed != 1:
        raise Conflict("该台账条目已登记发布 (this ledger row has been recorded as published already)")
