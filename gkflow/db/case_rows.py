"""The case repository: rows of `cases`, `events` and `outbox` as the hot paths read and write them.

Submit and fire run hand-written SQL on the DBAPI cursor (gkflow.db.fastsql, decision 8); the rarer
writers (warnings, ratings, recomputed dates) use SQLAlchemy Core. Both store values the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select

from gkflow.db.fastsql import FastSQL, as_date, as_utc, column_converters, convert, insert_sql
from gkflow.db.models import CaseRow, EventRow, OutboxRow, table_of
from gkflow.domain.calendar import DueDate
from gkflow.domain.cases import CaseClocks
from gkflow.domain.deadlines import LimitClock
from gkflow.domain.errors import Conflict, NotFound
from gkflow.domain.items import ItemVersion, Limit

cases_t = table_of(CaseRow)
events_t = table_of(EventRow)
outbox_t = table_of(OutboxRow)

FIRE_COLUMNS = (
    "id", "case_no", "item_code", "item_version", "department", "assigned_department", "state",
    "version", "applicant_name", "applicant_phone", "applicant_email", "applicant_wechat",
    "intake_channel", "phone_verified",
    "clock_running", "statutory_days",
    "statutory_anchor", "statutory_used", "promised_days", "promised_anchor", "promised_used",
    "extended", "statutory_due", "statutory_due_provisional", "promised_due",
    "promised_due_provisional", "step_due", "step_seq", "last_seq", "last_hash",
)
# The time of the case's last event comes along (its unique index makes it one look-up): a step may
# not be dated before it.
_SELECT_FOR_FIRE = (
    f"SELECT {', '.join(FIRE_COLUMNS)}, (SELECT e.at FROM events e WHERE e.case_id = cases.id"
    " AND e.seq = cases.last_seq) AS last_event_at FROM cases WHERE case_no = :case_no"
)
_DATE_COLUMNS = ("statutory_anchor", "promised_anchor", "statutory_due", "promised_due", "step_due")
_BOOL_COLUMNS = ("clock_running", "extended", "statutory_due_provisional", "promised_due_provisional")
EVENT_COLUMNS = ("case_id", "seq", "action", "from_state", "to_state", "actor", "role", "at", "comment",
                 "fields", "prev_hash", "hash", "chain_alg", "key_id", "recorded_at", "backdate_reason",
                 "public_note", "query_hash")
_EVENT_DEFAULTS = dict.fromkeys(EVENT_COLUMNS)
OUTBOX_COLUMNS = ("created_at", "case_id", "case_no", "event_seq", "kind", "topic", "channel",
                  "recipient", "payload", "idempotency_key", "status", "attempts", "next_attempt_at",
                  "updated_at", "secret")
_OUTBOX_DEFAULTS = dict.fromkeys(OUTBOX_COLUMNS)
_INSERT_EVENT = insert_sql("events", EVENT_COLUMNS)
_INSERT_OUTBOX = insert_sql("outbox", OUTBOX_COLUMNS)


def _complete(row: Mapping[str, Any], defaults: dict[str, None]) -> dict[str, Any]:
    """``row`` with NULL for every column it leaves out; a key that is no column is a programming
    error (a named parameter the statement does not use would be dropped without a word)."""
    if not row.keys() <= defaults.keys():
        raise ValueError(f"not columns of this insert: {sorted(set(row) - set(defaults))}")
    return {**defaults, **row}


def due_columns(prefix: str, due: DueDate | None) -> dict[str, Any]:
    """The `<prefix>_due` and `<prefix>_due_provisional` columns of a due date."""
    return {
        f"{prefix}_due": due.date if due else None,
        f"{prefix}_due_provisional": bool(due and due.provisional),
    }


def clock_columns(clocks: CaseClocks) -> dict[str, Any]:
    """The columns that hold both clocks (时限) of a case."""
    return {
        "clock_running": clocks.running,
        "statutory_days": clocks.statutory.limit.days,
        "statutory_anchor": clocks.statutory.anchor,
        "statutory_used": clocks.statutory.used,
        "promised_days": clocks.promised.limit.days,
        "promised_anchor": clocks.promised.anchor,
        "promised_used": clocks.promised.used,
        "extended": clocks.extended,
    }


def clocks_from_row(item: ItemVersion, row: Mapping[str, Any]) -> CaseClocks:
    """Both clocks of a case row, in the units its item version declares."""
    running = bool(row["clock_running"])
    return CaseClocks(
        statutory=LimitClock(
            Limit(row["statutory_days"], item.statutory_limit.unit), row["statutory_anchor"],
            row["statutory_used"], running,
        ),
        promised=LimitClock(
            Limit(row["promised_days"], item.promised_limit.unit), row["promised_anchor"],
            row["promised_used"], running,
        ),
        extended=bool(row["extended"]),
    )


# -- the hot path: one case locked for a transition ---------------------------------------------


def lock_for_fire(db: FastSQL, case_no: str) -> dict[str, Any] | None:
    """The columns a transition needs, typed (dates, booleans), or None if there is no such case."""
    raw = db.fetch_one(_SELECT_FOR_FIRE, {"case_no": case_no})
    if raw is None:
        return None
    for column in _DATE_COLUMNS:
        raw[column] = as_date(raw[column])
    for column in _BOOL_COLUMNS:
        raw[column] = bool(raw[column])
    raw["last_event_at"] = as_utc(raw["last_event_at"])
    return raw


def update_case_if_version(db: FastSQL, case_id: int, version: int, changes: Mapping[str, Any], *,
                           current: Mapping[str, Any] | None = None) -> bool:
    """Apply ``changes`` only if the row is still at ``version`` (the optimistic lock). Columns whose
    value equals ``current`` (the row as locked) are left out: most steps move no clock or due date,
    and binding ~15 unchanged values was a tenth of a transition on SQLite."""
    if current is not None:
        changes = {k: v for k, v in changes.items() if k not in current or current[k] != v}
    # Column names come from this package's own dictionaries, never from input.
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    updated = db.execute(
        f"UPDATE cases SET {assignments} WHERE id = :_id AND version = :_version",
        {**changes, "_id": case_id, "_version": version},
    )
    return updated == 1


def insert_event(db: FastSQL, event: Mapping[str, Any]) -> None:
    """Append one event (the database refuses updates and deletes of events); columns it does not
    name are NULL."""
    db.execute(_INSERT_EVENT, _complete(event, _EVENT_DEFAULTS))


def insert_outbox_rows(db: FastSQL, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write outbox rows in the transaction of the step that caused them (a column a row does not
    name is NULL)."""
    db.executemany(_INSERT_OUTBOX, [_complete(row, _OUTBOX_DEFAULTS) for row in rows])


# -- Core writers: a new case, and events that do not move a case -------------------------------


@lru_cache(maxsize=8)
def _insert_case_sql(columns: tuple[str, ...]) -> str:
    # ON CONFLICT on the case number only: a drawn number already taken answers no row (draw again)
    # without a savepoint around the insert (two round trips less); any other violation still fails.
    return insert_sql("cases", columns) + " ON CONFLICT (case_no) DO NOTHING RETURNING id"


def insert_case(conn: Connection, case: Mapping[str, Any], first_event: Mapping[str, Any]) -> int | None:
    """Insert a case and its first event; the case id, or None if its case number is already taken."""
    with FastSQL(conn) as db:
        row = db.fetch_one(_insert_case_sql(tuple(case)), case)
        if row is None:
            return None
        case_id: int = row["id"]
        db.execute(_INSERT_EVENT, _complete({"case_id": case_id, **first_event}, _EVENT_DEFAULTS))
    return case_id


def insert_outbox(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write outbox rows in the connection's own transaction."""
    if rows:
        with FastSQL(conn) as db:
            db.executemany(_INSERT_OUTBOX, [_complete(row, _OUTBOX_DEFAULTS) for row in rows])


def append_event_row(
    conn: Connection, row: Mapping[str, Any], event: Mapping[str, Any], *, updated_at: datetime,
    case_changes: Mapping[str, Any],
) -> None:
    """Bump the case's version and chain head and insert the (sealed) event; Conflict if the case
    moved."""
    updated = conn.execute(
        cases_t.update().where(cases_t.c.id == row["id"], cases_t.c.version == row["version"])
        .values(**case_changes, version=row["version"] + 1, last_seq=event["seq"], last_hash=event["hash"],
                updated_at=updated_at)
    ).rowcount
    if updated != 1:
        raise Conflict(f"case {row['case_no']} changed meanwhile; try again")
    conn.execute(events_t.insert().values(case_id=row["id"], **event))


def set_outbox_secret(conn: Connection, case_no: str, *, seq: int, channel: str,
                      secret: Mapping[str, str]) -> None:
    """Give the outbox rows of one step on one channel a secret part (cleared once sent)."""
    conn.execute(outbox_t.update().where(outbox_t.c.case_no == case_no, outbox_t.c.event_seq == seq,
                                         outbox_t.c.channel == channel)
                 .values(secret=json.dumps(dict(secret))))


# -- reads --------------------------------------------------------------------------------------

# The look-up path (status page, case page, API answers) reads a case and its history in one
# statement on an autocommit connection: one round trip, where two Core queries in a transaction
# took six on PostgreSQL (BEGIN, SELECT, ROLLBACK each) and ~1 ms of statement building on SQLite.
CASE_COLUMNS = tuple(c.name for c in cases_t.c)
TIMELINE_COLUMNS = ("seq", "action", "from_state", "to_state", "actor", "role", "at", "comment", "fields",
                    "public_note", "recorded_at", "backdate_reason")
_CASE_AND_EVENTS = (
    f"SELECT {', '.join('c.' + c for c in CASE_COLUMNS)}, {', '.join('e.' + c for c in TIMELINE_COLUMNS)}"
    " FROM cases c LEFT JOIN events e ON e.case_id = c.id WHERE c.case_no = :case_no ORDER BY e.seq"
)
_CASE_ONLY = f"SELECT {', '.join(CASE_COLUMNS)} FROM cases WHERE case_no = :case_no"
_ITEM_OF_CASE = "SELECT item_code, item_version FROM cases WHERE case_no = :case_no"


@lru_cache(maxsize=4)
def _converters(dialect: str) -> tuple[list[Any], list[Any]]:
    return (column_converters(cases_t, CASE_COLUMNS, dialect),
            column_converters(events_t, TIMELINE_COLUMNS, dialect))


def read_case_and_events(conn: Connection, case_no: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every column of one case and its events in order (those a timeline shows), in one statement;
    NotFound if there is no such case. Values typed as SQLAlchemy returns them."""
    with FastSQL(conn) as db:
        rows = db.fetch_all(_CASE_AND_EVENTS, {"case_no": case_no})
    if not rows:
        raise NotFound(f"case {case_no} not found")
    case_conv, event_conv = _converters(conn.dialect.name)
    n = len(CASE_COLUMNS)
    case = dict(zip(CASE_COLUMNS, convert(rows[0][:n], case_conv), strict=True))
    events = [dict(zip(TIMELINE_COLUMNS, convert(r[n:], event_conv), strict=True))
              for r in rows if r[n] is not None]
    return case, events


def read_case(conn: Connection, case_no: str) -> dict[str, Any]:
    """Every column of one case, typed; NotFound if there is none (one statement)."""
    with FastSQL(conn) as db:
        rows = db.fetch_all(_CASE_ONLY, {"case_no": case_no})
    if not rows:
        raise NotFound(f"case {case_no} not found")
    return dict(zip(CASE_COLUMNS, convert(rows[0], _converters(conn.dialect.name)[0]), strict=True))


def item_of_case(conn: Connection, case_no: str) -> tuple[str, int]:
    """The item code and version a case is bound to (they never change); NotFound if no such case."""
    with FastSQL(conn) as db:
        rows = db.fetch_all(_ITEM_OF_CASE, {"case_no": case_no})
    if not rows:
        raise NotFound(f"case {case_no} not found")
    return rows[0][0], rows[0][1]



def case_row(conn: Connection, case_no: str) -> dict[str, Any]:
    """Every column of one case; NotFound if there is none."""
    row = conn.execute(select(cases_t).where(cases_t.c.case_no == case_no)).mappings().first()
    if row is None:
        raise NotFound(f"case {case_no} not found")
    return dict(row)


def event_rows(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """A case's events in order."""
    rows = conn.execute(
        select(events_t).where(events_t.c.case_id == case_id).order_by(events_t.c.seq)
    ).mappings().all()
    return [dict(r) for r in rows]
