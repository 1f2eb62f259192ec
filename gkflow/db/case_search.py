"""The SQL of case search (the staff worklist, `GET /api/staff/cases`, `gkflow case list`).

Each tab reads one index in its own order and pages by keyset (the last row's sort key and id), so
page 100 costs what page 1 does. Search terms narrow the cases through `case_search_terms`
(gkflow.domain.search); filters are plain indexed columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    exists,
    func,
    select,
    tuple_,
    union_all,
)

from gkflow.db.case_rows import cases_t
from gkflow.db.models import CaseSearchTermRow, CaseWarningRow, table_of
from gkflow.domain.search import ExactCase, ReceivedOn, Term, Token

terms_t = table_of(CaseSearchTermRow)
warnings_t = table_of(CaseWarningRow)

Tab = Literal["open", "week", "overdue", "completed", "all"]
TABS: tuple[Tab, ...] = ("open", "week", "overdue", "completed", "all")
WEEK_DAYS = 7

# The columns a worklist row needs (not the JSON blobs).
LIST_COLUMNS = (
    "id", "case_no", "item_code", "item_version", "department", "assigned_department", "state",
    "version", "applicant_name", "applicant_phone", "received_at", "received_on", "clock_running",
    "statutory_days", "statutory_anchor", "statutory_used", "promised_days", "promised_anchor",
    "promised_used", "extended", "statutory_due", "statutory_due_provisional", "promised_due",
    "promised_due_provisional", "step_due", "closed_at",
)


@dataclass(frozen=True)
class Filters:
    """Everything but the tab and the page: who sees what, and what the clerk asked for."""

    department: str | None = None  # the department (主办 or 承办) whose cases are shown; None: all
    item: str | None = None
    state: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    warned: bool = False
    tokens: Sequence[Token] = ()


@dataclass(frozen=True)
class Position:
    """Where a page ends: the sort phase, the last row's sort key and its id."""

    phase: str
    key: Any
    id: int


def insert_terms(conn: Connection, case_id: int, terms: Iterable[str]) -> None:
    """Store a new case's search terms (in its own transaction)."""
    rows = [{"term": term, "case_id": case_id} for term in sorted(set(terms))]
    if rows:
        conn.execute(terms_t.insert(), rows)


def _token_condition(token: Token) -> ColumnElement[bool]:
    c = cases_t.c
    if isinstance(token, ExactCase):
        return c.case_no == token.case_no
    if isinstance(token, ReceivedOn):
        return c.received_on == token.day
    assert isinstance(token, Term)
    condition: ColumnElement[bool] = c.id.in_(
        select(terms_t.c.case_id).where(terms_t.c.term == token.term).scalar_subquery()
    )
    if token.name_contains:
        condition = and_(condition, c.applicant_name.contains(token.name_contains, autoescape=True))
    if token.phone_is:
        condition = and_(condition, c.applicant_phone == token.phone_is)
    return condition


def access_arms(filters: Filters) -> list[list[ColumnElement[bool]]]:
    """The department's own cases, then those assigned to it (承办): two index ranges, each read in
    order, instead of one OR that no index can keep in order."""
    c = cases_t.c
    if filters.department is None:
        return [[]]
    return [[c.department == filters.department],
            [c.assigned_department == filters.department, c.department != filters.department]]


def base_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """The conditions every tab shares, besides the department (see access_arms)."""
    c = cases_t.c
    conditions: list[ColumnElement[bool]] = []
    if filters.item:
        conditions.append(c.item_code == filters.item)
    if filters.state:
        conditions.append(c.state == filters.state)
    if filters.received_from:
        conditions.append(c.received_on >= filters.received_from)
    if filters.received_to:
        conditions.append(c.received_on <= filters.received_to)
    if filters.warned:
        conditions.append(exists().where(warnings_t.c.case_id == c.id))
    conditions += [_token_condition(token) for token in filters.tokens]
    return conditions


def tab_conditions(tab: Tab, today: date) -> list[ColumnElement[bool]]:
    """What a tab adds: open, due within a week, overdue (promised date passed), completed, all."""
    c = cases_t.c
    if tab == "open":
        return [c.closed_at.is_(None)]
    if tab == "week":
        return [c.closed_at.is_(None), c.promised_due >= today,
                c.promised_due < today + timedelta(days=WEEK_DAYS)]
    if tab == "overdue":
        return [c.closed_at.is_(None), c.promised_due < today]
    if tab == "completed":
        return [c.closed_at.is_not(None)]
    return []


def count_tabs(conn: Connection, filters: Filters, today: date, *, cap: int) -> dict[str, int]:
    """How many cases each tab holds with these filters (all = open + completed), in one statement.
    A count stops at ``cap`` + 1: "more than 10,000 completed cases" needs no exact figure, and an
    exact one would read every index entry (hundreds of thousands for a busy department)."""
    base = base_conditions(filters)
    tabs: tuple[Tab, ...] = ("open", "week", "overdue", "completed")

    def capped(tab: Tab) -> Any:
        arms = [select(cases_t.c.id).where(*arm, *base, *tab_conditions(tab, today)).limit(cap + 1)
                for arm in access_arms(filters)]
        rows = arms[0] if len(arms) == 1 else union_all(
            *(select(a.subquery().c.id) for a in arms))  # SQLite: no LIMIT inside a bare UNION arm
        return select(func.count()).select_from(rows.subquery()).scalar_subquery()

    found = conn.execute(select(*(capped(tab) for tab in tabs))).one()
    counts: dict[str, int] = {tab: min(int(n), cap + 1) for tab, n in zip(tabs, found, strict=True)}
    counts["all"] = min(counts["open"] + counts["completed"], cap + 1)
    return counts


def _phases(tab: Tab) -> list[str]:
    if tab in ("open",):
        return ["due", "stopped"]  # running clocks by promised date, then stopped clocks
    if tab in ("week", "overdue"):
        return ["due"]
    return ["closed"] if tab == "completed" else ["received"]


def _page_query(phase: str, after: Position | None) -> tuple[list[ColumnElement[bool]], list[Any], str]:
    """Conditions, order and the sort-key column of one phase, starting after ``after``."""
    c = cases_t.c
    conditions: list[ColumnElement[bool]]
    if phase == "due":
        conditions = [c.promised_due.is_not(None)]
        if after is not None:
            conditions.append(tuple_(c.promised_due, c.id) > tuple_(
                bindparam("k", after.key, type_=c.promised_due.type), bindparam("i", after.id)))
        return conditions, [c.promised_due, c.id], "promised_due"
    if phase == "stopped":
        conditions = [c.promised_due.is_(None)]
        if after is not None:
            conditions.append(c.id > after.id)
        return conditions, [c.id], "id"
    column = c.closed_at if phase == "closed" else c.received_at
    conditions = []
    if after is not None:
        conditions.append(tuple_(column, c.id) < tuple_(
            bindparam("k", after.key, type_=column.type), bindparam("i", after.id)))
    return conditions, [column.desc(), c.id.desc()], column.name


def _sort_key(phase: str, row: dict[str, Any]) -> tuple[Any, int]:
    if phase == "due":
        return (row["promised_due"], row["id"])
    if phase == "stopped":
        return (0, row["id"])
    return (row["closed_at" if phase == "closed" else "received_at"], row["id"])


def page(
    conn: Connection, filters: Filters, tab: Tab, today: date, *, after: Position | None, limit: int
) -> tuple[list[dict[str, Any]], Position | None]:
    """Up to ``limit`` rows of a tab after ``after``, and where the next page starts (None: the end)."""
    columns = [cases_t.c[name] for name in LIST_COLUMNS]
    base = [*base_conditions(filters), *tab_conditions(tab, today)]
    phases = _phases(tab)
    if after is not None and after.phase in phases:
        phases = phases[phases.index(after.phase):]
    rows: list[dict[str, Any]] = []
    for phase in phases:
        conditions, order, key_column = _page_query(phase, after if after and after.phase == phase else None)
        wanted = limit + 1 - len(rows)
        found: list[dict[str, Any]] = []
        for arm in access_arms(filters):
            query: Select[Any] = (select(*columns).where(*arm, *base, *conditions).order_by(*order)
                                  .limit(wanted))
            found += [dict(r) for r in conn.execute(query).mappings()]
        found.sort(key=lambda r: _sort_key(phase, r), reverse=phase in ("closed", "received"))
        rows += [r | {"_phase": phase, "_key": key_column} for r in found[:wanted]]
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return rows, None
    last = rows[-1]
    return rows, Position(last["_phase"], last[last["_key"]], int(last["id"]))


def key_from_text(phase: str, text: str) -> date | datetime | int:
    """A cursor's sort key back in its column's type."""
    if phase == "due":
        return date.fromisoformat(text)
    if phase == "stopped":
        return int(text)
    return datetime.fromisoformat(text)
