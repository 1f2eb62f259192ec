"""Case search: the staff worklist, `GET /api/staff/cases` and `gkflow case list` share it.

By full or partial case number, applicant name, the phone's last four digits (gkflow.domain.search),
item, state, handling department, received dates and warnings; in tabs (open, due within a week,
overdue, completed, all) with their counts; one keyset page at a time; only what the viewer's
department may see (gkflow.domain.access).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from gkflow.db import case_search
from gkflow.db.case_rows import cases_t, clocks_from_row
from gkflow.db.case_search import TABS, Filters, Position, Tab
from gkflow.db.engine import write_connection
from gkflow.domain.access import Staff, department_filter
from gkflow.domain.calendar import DueDate
from gkflow.domain.deadlines import days_left
from gkflow.domain.errors import CorruptRecord, InvalidInput
from gkflow.domain.masking import mask_name, mask_phone
from gkflow.domain.search import case_terms, parse_query
from gkflow.runtime import Runtime
from gkflow.services.read_models import CaseListEntry, CasePage, TabCounts
from gkflow.services.views import case_item, live_warnings, local_iso

MAX_LIMIT = 200
COUNT_CAP = 10_000  # tab counts stop here (shown as "10000+")


def encode_cursor(tab: str, position: Position) -> str:
    """An opaque cursor: the tab, the sort phase, the last row's key and id."""
    key = position.key.isoformat() if isinstance(position.key, date | datetime) else str(position.key)
    raw = json.dumps([tab, position.phase, key, position.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(tab: str, cursor: str) -> Position:
    """The position a cursor names; InvalidInput if it is malformed or of another tab."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_tab, phase, key, last_id = json.loads(raw)
        if cursor_tab != tab:
            raise ValueError("cursor of another tab")
        return Position(str(phase), case_search.key_from_text(str(phase), str(key)), int(last_id))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cursor: not a cursor of this list ({exc})", fields=["cursor"]) from None


def search_cases(
    rt: Runtime,
    viewer: Staff | None,
    *,
    q: str | None = None,
    tab: str | None = None,
    item: str | None = None,
    state: str | None = None,
    department: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    warned: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> CasePage:
    """One page of the cases ``viewer`` may see (None: an operator at the CLI, every department).

    Without ``tab``: open cases, or every case when searching by ``q``.
    """
    chosen: Tab = _tab(tab, searching=bool(q and q.strip()))
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: between 1 and {MAX_LIMIT}", fields=["limit"])
    if received_from and received_to and received_from > received_to:
        raise InvalidInput("received_from: after received_to", fields=["received_from"])
    mine = department_filter(viewer) if viewer is not None else None
    filters = Filters(
        department=mine if mine is not None else (department or None),
        item=item or None, state=state or None, received_from=received_from,
        received_to=received_to, warned=warned, tokens=parse_query(q),
    )
    after = decode_cursor(chosen, cursor) if cursor else None
    today = rt.local_date(rt.now())
    with rt.engine.connect() as conn:
        rows, position = case_search.page(conn, filters, chosen, today, after=after, limit=limit)
        counts = case_search.count_tabs(conn, filters, today, cap=COUNT_CAP)
    return CasePage(
        items=[list_entry(rt, row, today) for row in rows],
        next_cursor=encode_cursor(chosen, position) if position else None,
        counts=TabCounts(**counts, capped_at=COUNT_CAP),
    )


def _tab(tab: str | None, *, searching: bool) -> Tab:
    if not tab:
        return "all" if searching else "open"
    for known in TABS:
        if tab == known:
            return known
    raise InvalidInput(f"tab: one of {', '.join(TABS)}, not '{tab}'", fields=["tab"])


def list_entry(rt: Runtime, row: dict[str, Any], today: date) -> CaseListEntry:
    """A case row as one line of a list (an edited row that its item cannot explain is listed as
    记录异常, so that one row does not take the list down; `audit verify` names why)."""
    try:
        item = case_item(rt, row)
    except CorruptRecord:
        return _corrupt_entry(rt, row)
    closed_at: datetime | None = row["closed_at"]
    final = closed_at is not None
    warnings = live_warnings(rt, row, today)
    levels = {w.level for w in warnings}
    left = None
    on_time = None
    if final:
        if row["promised_due"] is not None and closed_at is not None:
            closed = closed_at if closed_at.tzinfo else closed_at.replace(tzinfo=UTC)
            on_time = rt.local_date(closed) <= row["promised_due"]
    elif row["promised_due"] is not None:
        due = DueDate(row["promised_due"], bool(row["promised_due_provisional"]))
        left = days_left(clocks_from_row(item, row).promised, due, today, rt.calendar)
    return CaseListEntry(
        case_no=row["case_no"], item=row["item_code"], item_name=item.name, state=row["state"],
        state_label=item.states[row["state"]].label if row["state"] in item.states else row["state"],
        version=row["version"], department=row["department"],
        assigned_department=row["assigned_department"],
        applicant=mask_name(row["applicant_name"]),
        applicant_phone=mask_phone(row["applicant_phone"]) or None,
        received_at=local_iso(rt, row["received_at"]),
        promised_due=row["promised_due"].isoformat() if row["promised_due"] else None,
        statutory_due=row["statutory_due"].isoformat() if row["statutory_due"] else None,
        clock="running" if row["clock_running"] else "stopped",
        days_left=left, days_unit=item.promised_limit.unit.value,
        colour="red" if "red" in levels else ("yellow" if "yellow" in levels else None),
        warnings=warnings, final=final, closed_at=local_iso(rt, closed_at), on_time=on_time,
    )


def _corrupt_entry(rt: Runtime, row: dict[str, Any]) -> CaseListEntry:
    return CaseListEntry(
        case_no=row["case_no"], item=str(row["item_code"]), item_name=str(row["item_code"]),
        state=str(row["state"]), state_label="记录异常，请核查", version=row["version"],
        department=row["department"], assigned_department=row["assigned_department"],
        applicant=mask_name(row["applicant_name"]),
        applicant_phone=mask_phone(row["applicant_phone"]) or None,
        received_at=local_iso(rt, row["received_at"]), promised_due=None, statutory_due=None,
        clock="stopped", days_left=None, days_unit="working", colour="red", warnings=[],
        final=row["closed_at"] is not None, closed_at=local_iso(rt, row["closed_at"]), on_time=None,
    )


def backfill_search_terms(rt: Runtime, *, batch: int = 5000) -> int:
    """Index the cases of a database made before search existed (run by `gkflow init`); returns how
    many cases were indexed. Does nothing once any term is stored."""
    c = cases_t.c
    with write_connection(rt.engine) as conn, conn.begin():
        if conn.execute(select(func.count()).select_from(case_search.terms_t)).scalar_one():
            return 0
        done = 0
        last_id = 0
        while True:
            rows = conn.execute(
                select(c.id, c.case_no, c.applicant_name, c.applicant_phone)
                .where(c.id > last_id).order_by(c.id).limit(batch)
            ).all()
            if not rows:
                return done
            terms = [
                {"term": term, "case_id": case_id}
                for case_id, case_no, name, phone in rows
                for term in sorted(case_terms(case_no, name, phone))
            ]
            conn.execute(case_search.terms_t.insert(), terms)
            done += len(rows)
            last_id = rows[-1][0]
