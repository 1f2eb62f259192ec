"""Provisional due dates (dates in a year whose official holiday schedule was not loaded) are
recomputed once the schedule is added under config/: a history event and a notice if one moves."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select

from gkflow.domain.cases import Actor
from gkflow.domain.events import event_hash
from gkflow.runtime import Runtime
from gkflow.services.cases import (
    cases_t,
    clocks_from_row,
    due_columns,
    events_t,
    notice_context,
    outbox_rows,
    outbox_t,
    write_connection,
)

SYSTEM = Actor("gkflow", "system")
ACTION = "due_date_recomputed"


def recompute_provisional(rt: Runtime) -> list[dict[str, Any]]:
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
        with write_connection(rt) as conn, conn.begin():
            row = conn.execute(select(cases_t).where(cases_t.c.case_no == case_no)).mappings().first()
            if row is None or row["closed_at"] is not None:
                continue
            item = rt.item(row["item_code"], row["item_version"])
            statutory, promised = clocks_from_row(item, row).dues(calendar)
            columns = {**due_columns("statutory", statutory), **due_columns("promised", promised)}
            if row["step_due"] is not None:
                from gkflow.domain.cases import step_due

                columns.update(due_columns("step", step_due(item, row["state"], row["step_entered_on"],
                                                             calendar)))
            if all(row[k] == v for k, v in columns.items()):
                continue
            before = {"statutory_due": _iso(row["statutory_due"]), "promised_due": _iso(row["promised_due"])}
            after = {"statutory_due": _iso(columns["statutory_due"]),
                     "promised_due": _iso(columns["promised_due"])}
            seq = row["last_seq"] + 1
            fields = {f"{k}_before": v or "" for k, v in before.items()} | {
                f"{k}_after": v or "" for k, v in after.items()}
            new_hash = event_hash(row["last_hash"], case_no, seq, ACTION, row["state"], row["state"],
                                  SYSTEM.user, SYSTEM.role, now, "官方节假日安排公布后重新计算期限", fields)
            conn.execute(cases_t.update().where(cases_t.c.id == row["id"]).values(
                **columns, version=row["version"] + 1, last_seq=seq, last_hash=new_hash,
                updated_at=now))
            conn.execute(events_t.insert().values(
                case_id=row["id"], seq=seq, action=ACTION, from_state=row["state"],
                to_state=row["state"], actor=SYSTEM.user, role=SYSTEM.role, at=now,
                comment="官方节假日安排公布后重新计算期限",
                fields=json.dumps(fields, ensure_ascii=False, sort_keys=True),
                prev_hash=row["last_hash"], hash=new_hash))
            moved = before != after
            if moved:
                case_after = {**row, **columns}
                context = notice_context(rt, item, case_after, action_label="期限调整",
                                         state=row["state"], at=now, comment=None, fields=fields)
                rows = outbox_rows(item, case_after, row["id"], seq, ("due_date_changed",), (), context, now)
                if rows:
                    conn.execute(outbox_t.insert(), rows)
            changed.append({"case_no": case_no, "before": before, "after": after, "moved": moved})
    return changed


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
