"""Provisional due dates (dates in a year whose official holiday schedule was not loaded) are
recomputed once the schedule is added under config/: a history event and a notice if one moves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from gkflow.db.case_rows import cases_t, clocks_from_row, due_columns, insert_outbox
from gkflow.db.engine import write_connection
from gkflow.domain.cases import Actor, step_due
from gkflow.domain.errors import Conflict
from gkflow.runtime import Runtime
from gkflow.services.cases import append_event
from gkflow.services.notices import notice_context, outbox_rows

SYSTEM = Actor("gkflow", "system")
ACTION = "due_date_recomputed"
COMMENT = "官方节假日安排公布后重新计算期限"


def recompute_provisional(rt: Runtime) -> list[dict[str, Any]]:
    """Recompute every open case's provisional due dates; the cases whose dates changed."""
    calendar = rt.calendar
    now = rt.now()
    changed: list[dict[str, Any]] = []
    with rt.engine.connect() as conn:
        case_nos = conn.execute(
            select(cases_t.c.case_no).where(
                cases_t.c.closed_at.is_(None),
                or_(cases_t.c.statutory_due_provisional, cases_t.c.promised_due_provisional,
                    cases_t.c.step_due_provisional),
            )
        ).scalars().all()
    for case_no in case_nos:
        try:
            entry = _recompute_one(rt, case_no, calendar, now)
        except Conflict:
            continue  # the case moved meanwhile; its new due dates were computed then, or next refresh
        if entry is not None:
            changed.append(entry)
    return changed


def _recompute_one(rt: Runtime, case_no: str, calendar: Any, now: datetime) -> dict[str, Any] | None:
    """One case in one transaction: None when it closed meanwhile or nothing changed."""
    with write_connection(rt.engine) as conn, conn.begin():
        found = conn.execute(select(cases_t).where(cases_t.c.case_no == case_no)).mappings().first()
        row = dict(found) if found is not None else None
        if row is None or row["closed_at"] is not None:
            return None
        item = rt.item(row["item_code"], row["item_version"])
        statutory, promised = clocks_from_row(item, row).dues(calendar)
        columns = {**due_columns("statutory", statutory), **due_columns("promised", promised)}
        if row["step_due"] is not None:
            entered = row["step_entered_on"]
            columns.update(due_columns("step", step_due(item, row["state"], entered, calendar)))
        if all(row[k] == v for k, v in columns.items()):
            return None
        before = {key: _iso(row[key]) for key in ("statutory_due", "promised_due")}
        after = {key: _iso(columns[key]) for key in ("statutory_due", "promised_due")}
        fields = {f"{k}_before": v or "" for k, v in before.items()} | {
            f"{k}_after": v or "" for k, v in after.items()}
        seq = append_event(conn, row, ACTION, SYSTEM, at=now, comment=COMMENT, fields=fields, **columns)
        moved = before != after
        if moved:
            case_after = {**row, **columns}
            context = notice_context(rt.settings, item, case_after, action_label="期限调整",
                                     state=row["state"], at=now, public_note=None, fields=fields)
            insert_outbox(conn, outbox_rows(item, case_after, case_id=row["id"], seq=seq,
                                            notices=("due_date_changed",), triggers=(), context=context,
                                            now=now))
    return {"case_no": case_no, "before": before, "after": after, "moved": moved}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
