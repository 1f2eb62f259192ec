"""The deadline sweep (红黄牌预警): yellow once a share of a limit is used, red once it is overdue.

Each warning is raised exactly once per case (and per step): the ``case_warnings`` row, its unique
constraint, the hash-chained history event and the staff notice commit together, so two sweeps
running at once cannot both raise it, and a crash leaves either all of it or none.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gkflow.db.case_rows import cases_t, clocks_from_row, outbox_t
from gkflow.db.engine import write_connection
from gkflow.db.models import CaseWarningRow, table_of
from gkflow.delivery.staff import StaffNotices, staff_notices
from gkflow.domain.calendar import DueDate
from gkflow.domain.cases import Actor
from gkflow.domain.deadlines import WarningLevel, days_between, warning_level
from gkflow.domain.errors import Conflict, CorruptRecord
from gkflow.runtime import Runtime
from gkflow.services.cases import append_event
from gkflow.services.notices import notice_context
from gkflow.services.views import case_item

log = logging.getLogger("gkflow.sweep")

warnings_t = table_of(CaseWarningRow)
SYSTEM = Actor("gkflow", "system")
LIMIT_LABELS = {"statutory": "法定时限", "promised": "承诺时限"}
LEVEL_LABELS = {WarningLevel.YELLOW: "黄牌预警", WarningLevel.RED: "红牌预警"}


@dataclass(frozen=True)
class RaisedWarning:
    case_no: str
    scope: str  # case | step
    level: str  # yellow | red
    limit: str  # statutory | promised | the step's state
    due_on: date
    seq: int  # the history event it was recorded as

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "due_on": self.due_on.isoformat()}


@dataclass(frozen=True)
class _Needed:
    case_id: int
    scope: str
    level: str
    limit: str
    due_on: date
    step_seq: int


def _case_level(rt: Runtime, row: dict[str, Any], today: date, calendar: Any,
                share: float) -> tuple[str, str, date] | None:
    item = rt.item(row["item_code"], row["item_version"])
    clocks = clocks_from_row(item, row)
    found: list[tuple[str, str, date]] = []
    for limit, clock in (("promised", clocks.promised), ("statutory", clocks.statutory)):
        due_on = row[f"{limit}_due"]
        if due_on is None:
            continue
        level = warning_level(clock, DueDate(due_on, row[f"{limit}_due_provisional"]), today, calendar, share)
        if level:
            found.append((level, limit, due_on))
    # Red beats yellow; between equals the promised limit (the shorter one) is named first.
    reds = [f for f in found if f[0] == WarningLevel.RED]
    chosen = reds or found
    return chosen[0] if chosen else None


def _step_level(rt: Runtime, row: dict[str, Any], today: date, calendar: Any,
                share: float) -> str | None:
    step_due: date | None = row["step_due"]
    if step_due is None:
        return None
    if today > step_due:
        return WarningLevel.RED
    item = rt.item(row["item_code"], row["item_version"])
    limit = item.states[row["state"]].step_limit
    if limit is None or limit.days <= 0:
        return None
    used, _ = days_between(calendar, limit.unit, row["step_entered_on"], today)
    return WarningLevel.YELLOW if used >= limit.days * share else None


def sweep(rt: Runtime, *, now: datetime | None = None) -> list[RaisedWarning]:
    """Raise every yellow/red warning that is due at ``now`` and not raised yet, each once."""
    now = (now or rt.now()).astimezone(UTC)
    today = rt.local_date(now)
    calendar = rt.calendar
    with rt.engine.connect() as conn:
        open_cases = [dict(r) for r in conn.execute(
            select(cases_t).where(cases_t.c.closed_at.is_(None))
        ).mappings()]
        raised = {
            (r.case_id, r.scope, r.level, r.step_seq)
            for r in conn.execute(select(warnings_t.c.case_id, warnings_t.c.scope, warnings_t.c.level,
                                         warnings_t.c.step_seq))
        }
    needed: list[_Needed] = []
    for row in open_cases:
        try:
            item = case_item(rt, row)
        except CorruptRecord as exc:
            log.warning("sweep skips a case: %s", exc.message)  # `audit verify` names the field
            continue
        share = item.yellow_share or rt.settings.yellow_share
        case_level = _case_level(rt, row, today, calendar, share)
        if case_level is not None:
            level, limit, due_on = case_level
            if (row["id"], "case", level, 0) not in raised and (row["id"], "case", "red", 0) not in raised:
                needed.append(_Needed(row["id"], "case", level, limit, due_on, 0))
        step_level = _step_level(rt, row, today, calendar, share)
        if step_level is not None:
            key = (row["id"], "step", step_level, row["step_seq"])
            if key not in raised and (row["id"], "step", "red", row["step_seq"]) not in raised:
                needed.append(_Needed(row["id"], "step", step_level, row["state"], row["step_due"],
                                      row["step_seq"]))
    staff = staff_notices(rt.settings)  # read once per sweep, not once per warning
    results = []
    for need in needed:
        try:
            warning = _raise(rt, need, now, staff)
        except Conflict:
            continue  # the case moved on meanwhile; the next sweep looks again
        if warning is not None:
            results.append(warning)
    return results


def _days_left(rt: Runtime, item: Any, need: _Needed, today: date) -> int:
    """Counting days to the due date in the limit's own unit; negative once overdue."""
    if need.scope == "step":
        step_limit = item.states[need.limit].step_limit
        unit = step_limit.unit if step_limit else item.promised_limit.unit
    else:
        unit = getattr(item, f"{need.limit}_limit").unit
    calendar = rt.calendar
    if today <= need.due_on:
        return days_between(calendar, unit, today, need.due_on)[0]
    return -days_between(calendar, unit, need.due_on, today)[0]


def _insert_warning(conn: Connection, values: dict[str, Any]) -> bool:
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(warnings_t).values(**values).on_conflict_do_nothing().returning(warnings_t.c.id)
    return conn.execute(statement).first() is not None


def _raise(rt: Runtime, need: _Needed, now: datetime, staff: StaffNotices) -> RaisedWarning | None:
    topic = f"warning_{need.level}"
    with write_connection(rt.engine) as conn, conn.begin():
        found = conn.execute(select(cases_t).where(cases_t.c.id == need.case_id)).mappings().first()
        row = dict(found) if found is not None else None
        if row is None or row["closed_at"] is not None:
            return None
        if need.scope == "step" and row["step_seq"] != need.step_seq:
            return None  # the case left that step
        if not _insert_warning(conn, {"case_id": need.case_id, "scope": need.scope, "level": need.level,
                                      "step_seq": need.step_seq, "due_on": need.due_on, "raised_at": now}):
            return None  # another sweep raised it first
        item = rt.item(row["item_code"], row["item_version"])
        what = LIMIT_LABELS.get(need.limit) or f"“{item.states[need.limit].label}”环节时限"
        verb = "已超期" if need.level == WarningLevel.RED else "即将到期"
        comment = f"{LEVEL_LABELS[need.level]}：{what}{verb}（{need.due_on.isoformat()}）"
        fields = {"scope": need.scope, "level": need.level, "limit": need.limit,
                  "due_on": need.due_on.isoformat()}
        seq = append_event(conn, rt, row, topic, SYSTEM, at=now, comment=comment, fields=fields)
        context = notice_context(rt.settings, item, row, action_label=LEVEL_LABELS[need.level],
                                 state=row["state"], at=now, public_note=comment, fields=fields)
        context.update(level=need.level, scope=need.scope, limit=need.limit, due_on=need.due_on.isoformat(),
                       days_left=_days_left(rt, item, need, rt.local_date(now)))
        conn.execute(outbox_t.insert().values(
            created_at=now, case_id=row["id"], case_no=row["case_no"], event_seq=seq, kind="notice",
            topic=topic, channel=staff.channel, recipient=staff.recipient(row["department"]),
            payload=json.dumps(context, ensure_ascii=False),
            idempotency_key=f"{row['case_no']}/{seq}/{topic}/staff",
            status="created", attempts=0, next_attempt_at=now, updated_at=now,
        ))
    return RaisedWarning(row["case_no"], need.scope, need.level, need.limit, need.due_on, seq)
