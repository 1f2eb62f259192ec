"""Recount open cases from their history whenever the calendar may have changed (`gkflow init`,
`gkflow calendar refresh`): used days come from the stop/resume events under today's calendar,
not from a count made while a year was provisional. A changed date gets a history event and, if
a due date moved, a notice to the applicant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from gkflow.db.case_rows import cases_t, events_t, insert_outbox
from gkflow.db.engine import write_connection
from gkflow.domain.cases import Actor
from gkflow.domain.deadlines import Calendar
from gkflow.domain.errors import Conflict, CorruptRecord
from gkflow.domain.replay import replay, step_of
from gkflow.runtime import Runtime
from gkflow.services.cases import append_event
from gkflow.services.notices import notice_context, outbox_rows

SYSTEM = Actor("gkflow", "system")
ACTION = "due_date_recomputed"
COMMENT = "官方节假日安排公布后重新计算期限"
# The columns a recount may change: the clocks' counts and every due date (never the state).
RECOUNTED = (
    "statutory_anchor", "statutory_used", "promised_anchor", "promised_used",
    "statutory_due", "statutory_due_provisional", "promised_due", "promised_due_provisional",
    "step_due", "step_due_provisional",
)


def recompute_from_history(rt: Runtime) -> list[dict[str, Any]]:
    """Recount every open case from its events under the current calendar; the cases that changed."""
    calendar = rt.calendar
    now = rt.now()
    changed: list[dict[str, Any]] = []
    with rt.engine.connect() as conn:
        case_nos = conn.execute(
            select(cases_t.c.case_no).where(cases_t.c.closed_at.is_(None)).order_by(cases_t.c.id)
        ).scalars().all()
    for case_no in case_nos:
        try:
            entry = _recompute_one(rt, case_no, calendar, now)
        except Conflict:
            continue  # the case moved meanwhile; its new due dates were computed then, or next refresh
        except CorruptRecord:
            continue  # `gkflow audit verify` names it; a refresh must not stop at one bad row
        if entry is not None:
            changed.append(entry)
    return changed


# The name callers used while only provisional due dates were recomputed.
recompute_provisional = recompute_from_history


def _recompute_one(rt: Runtime, case_no: str, calendar: Calendar, now: datetime) -> dict[str, Any] | None:
    """One case in one transaction: None when it closed meanwhile or nothing changed."""
    with write_connection(rt.engine) as conn, conn.begin():
        found = conn.execute(select(cases_t).where(cases_t.c.case_no == case_no)).mappings().first()
        row = dict(found) if found is not None else None
        if row is None or row["closed_at"] is not None:
            return None
        item = rt.item(row["item_code"], row["item_version"])
        events = conn.execute(select(events_t).where(events_t.c.case_id == row["id"])
                              .order_by(events_t.c.seq)).mappings().all()
        steps = [step_of(dict(ev), rt.local_date(ev["at"])) for ev in events]
        history = replay(item, row["received_on"], steps, calendar).columns()
        columns = {key: history[key] for key in RECOUNTED}
        if all(row[k] == v for k, v in columns.items()):
            return None
        before = {key: _iso(row[key]) for key in ("statutory_due", "promised_due")}
        after = {key: _iso(columns[key]) for key in ("statutory_due", "promised_due")}
        fields = {f"{k}_before": v or "" for k, v in before.items()} | {
            f"{k}_after": v or "" for k, v in after.items()}
        for limit in ("statutory", "promised"):
            if row[f"{limit}_used"] != columns[f"{limit}_used"]:
                fields[f"{limit}_used_before"] = str(row[f"{limit}_used"])
                fields[f"{limit}_used_after"] = str(columns[f"{limit}_used"])
        seq = append_event(conn, rt, row, ACTION, SYSTEM, at=now, comment=COMMENT, fields=fields, **columns)
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
