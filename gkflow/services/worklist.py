"""The staff worklist: a department's open cases with deadline colours and days left."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from gkflow.db.case_rows import cases_t, clocks_from_row
from gkflow.domain.access import department_filter
from gkflow.domain.calendar import DueDate
from gkflow.domain.deadlines import days_left
from gkflow.domain.errors import CorruptRecord
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account
from gkflow.services.read_models import WorklistEntry
from gkflow.services.views import case_item, live_warnings, local_iso

SORTS = {
    "due": (cases_t.c.promised_due.is_(None), cases_t.c.promised_due, cases_t.c.received_at),
    "received": (cases_t.c.received_at,),
    "case_no": (cases_t.c.case_no,),
    "state": (cases_t.c.state, cases_t.c.promised_due),
    "item": (cases_t.c.item_code, cases_t.c.promised_due),
}


def _open_cases(account: Account, item: str | None, state: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [cases_t.c.closed_at.is_(None)]
    mine = department_filter(account)
    if mine is not None:
        conditions.append(or_(cases_t.c.department == mine, cases_t.c.assigned_department == mine))
    if item:
        conditions.append(cases_t.c.item_code == item)
    if state:
        conditions.append(cases_t.c.state == state)
    return conditions


def worklist_count(
    rt: Runtime, account: Account, *, item: str | None = None, state: str | None = None
) -> int:
    """How many open cases the account's worklist holds with these filters."""
    with rt.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(cases_t).where(*_open_cases(account, item, state))
        ).scalar_one()


def worklist(
    rt: Runtime,
    account: Account,
    *,
    item: str | None = None,
    state: str | None = None,
    sort: str = "due",
    limit: int = 200,
) -> list[WorklistEntry]:
    """The open cases of the account's department (and those assigned to it), sorted; at most ``limit``."""
    order = SORTS.get(sort, SORTS["due"])
    with rt.engine.connect() as conn:
        rows = (
            conn.execute(
                select(cases_t)
                .where(*_open_cases(account, item, state))
                .order_by(*order, cases_t.c.id)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    today = rt.local_date(rt.now())
    calendar = rt.calendar
    entries = []
    for raw in rows:
        row = dict(raw)
        try:
            definition = case_item(rt, row)
        except CorruptRecord:
            entries.append(_corrupt_entry(rt, row))  # one edited row must not take the list down
            continue
        warnings = live_warnings(rt, row, today)
        levels = {w.level for w in warnings}
        due = DueDate(row["promised_due"], row["promised_due_provisional"]) if row["promised_due"] else None
        left = days_left(clocks_from_row(definition, row).promised, due, today, calendar)
        entries.append(WorklistEntry(
            case_no=row["case_no"],
            item=row["item_code"],
            item_name=definition.name,
            state=row["state"],
            state_label=definition.states[row["state"]].label,
            version=row["version"],
            department=row["department"],
            received_at=local_iso(rt, row["received_at"]),
            promised_due=row["promised_due"].isoformat() if row["promised_due"] else None,
            statutory_due=row["statutory_due"].isoformat() if row["statutory_due"] else None,
            clock="running" if row["clock_running"] else "stopped",
            days_left=left,
            colour="red" if "red" in levels else ("yellow" if "yellow" in levels else None),
            warnings=warnings,
        ))
    return entries


def _corrupt_entry(rt: Runtime, row: dict[str, Any]) -> WorklistEntry:
    """A row that its item cannot explain, listed so staff see it (and `audit verify` names why)."""
    return WorklistEntry(
        case_no=row["case_no"], item=str(row["item_code"]), item_name=str(row["item_code"]),
        state=str(row["state"]), state_label="记录异常，请核查", version=row["version"],
        department=row["department"], received_at=local_iso(rt, row["received_at"]),
        promised_due=None, statutory_due=None, clock="stopped", days_left=None, colour="red", warnings=[],
    )
