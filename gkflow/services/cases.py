"""Submit and advance cases (DESIGN.md section 4): state, event and outbox rows in one transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from gkflow.clock import to_utc
from gkflow.db.engine import WRITE_OPTION
from gkflow.db.fastsql import FastSQL, as_date, insert_sql
from gkflow.db.models import CaseRow, EventRow, OutboxRow
from gkflow.domain.calendar import DueDate
from gkflow.domain.cases import (
    ASSIGNEE_FIELD,
    Actor,
    CaseClocks,
    TransitionPlan,
    clean_fields,
    open_clocks,
    plan_transition,
    step_due,
)
from gkflow.domain.deadlines import LimitClock
from gkflow.domain.errors import Conflict, InvalidInput, NotFound
from gkflow.domain.events import GENESIS_HASH, event_hash
from gkflow.domain.items import ClockEffect, ItemVersion, Limit, Transition
from gkflow.domain.masking import mask_name
from gkflow.runtime import Runtime

cases_t = CaseRow.__table__
events_t = EventRow.__table__
outbox_t = OutboxRow.__table__

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
QUERY_CODE_LENGTH = 8
CASE_NO_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Applicant:
    name: str
    phone: str | None = None
    id_number: str | None = None
    email: str | None = None
    wechat: str | None = None


@dataclass(frozen=True)
class Submitted:
    case_no: str
    query_code: str  # shown once; only its hash is stored


def hash_query_code(case_no: str, code: str) -> str:
    return hashlib.sha256(f"{case_no}:{code.strip().upper()}".encode()).hexdigest()


def query_code_matches(case_no: str, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_query_code(case_no, code), stored_hash)


def new_case_no(received_on: date) -> str:
    suffix = "".join(secrets.choice(CASE_NO_ALPHABET) for _ in range(6))
    return f"GK{received_on:%Y%m%d}-{suffix}"


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def due_columns(prefix: str, due: DueDate | None) -> dict[str, Any]:
    return {
        f"{prefix}_due": due.date if due else None,
        f"{prefix}_due_provisional": bool(due and due.provisional),
    }


def _clock_columns(clocks: CaseClocks) -> dict[str, Any]:
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


def notice_context(
    rt: Runtime, item: ItemVersion, case: Mapping[str, Any], *, action_label: str, state: str,
    at: datetime, comment: str | None, fields: Mapping[str, str],
) -> dict[str, Any]:
    """The render context the notifications package documents (notifications/README.md)."""
    promised_due, statutory_due = case.get("promised_due"), case.get("statutory_due")
    return {
        "case_no": case["case_no"],
        "item_code": item.code,
        "item_name": item.name,
        "department": item.department,
        "action_label": action_label,
        "state_label": item.states[state].label,
        "applicant_name": mask_name(case["applicant_name"]),
        "occurred_at": at.astimezone(rt.settings.tz).strftime("%Y-%m-%d %H:%M"),
        "promised_due": promised_due.isoformat() if promised_due else None,
        "statutory_due": statutory_due.isoformat() if statutory_due else None,
        "due_provisional": bool(
            case.get("promised_due_provisional") or case.get("statutory_due_provisional")
        ),
        "comment": comment,
        "fields": dict(fields),
        "status_url": f"{rt.settings.public_base_url.rstrip('/')}/status/{case['case_no']}",
        "hotline": rt.settings.hotline,
    }


def notice_recipients(item: ItemVersion, case: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(channel, recipient) pairs: the item's notice channels the applicant can be reached on."""
    contacts = {
        "sms": case.get("applicant_phone"),
        "email": case.get("applicant_email"),
        "wechat": case.get("applicant_wechat"),
        "webhook": "hotline-12345",
        "sandbox": "sandbox",
    }
    return [(ch, contacts[ch]) for ch in item.notice_channels if contacts.get(ch)]


def notice_fields(transition: Transition, values: Mapping[str, str]) -> dict[str, str]:
    """The step's form fields, plus what the notice needs from the step itself (the extension)."""
    fields = dict(values)
    if transition.clock is ClockEffect.EXTEND and transition.extend_days:
        fields["extend_days"] = str(transition.extend_days)
    return fields


def outbox_rows(
    item: ItemVersion, case: Mapping[str, Any], case_id: int, seq: int, notices: tuple[str, ...],
    triggers: tuple[str, ...], context: dict[str, Any], now: datetime,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = {
        "created_at": now, "case_id": case_id, "case_no": case["case_no"], "event_seq": seq,
        "status": "created", "attempts": 0, "next_attempt_at": now, "updated_at": now,
    }
    payload = json.dumps(context, ensure_ascii=False)
    for notice in notices:
        for channel, recipient in notice_recipients(item, case):
            rows.append({
                **base, "kind": "notice", "topic": notice, "channel": channel,
                "recipient": recipient, "payload": payload,
                "idempotency_key": f"{case['case_no']}/{seq}/{notice}/{channel}",
            })
    for trigger in triggers:
        rows.append({
            **base, "kind": "trigger", "topic": trigger, "channel": None, "recipient": None,
            "payload": payload, "idempotency_key": f"{case['case_no']}/{seq}/{trigger}",
        })
    return rows


def append_event(
    conn: Connection, row: Mapping[str, Any], action: str, actor: Actor, at: datetime,
    comment: str | None, fields: Mapping[str, str], **case_changes: Any,
) -> int:
    """Append an event that does not move the case (a warning, a rating, a recomputed due date) to
    its hash chain, bumping the case's version in the same transaction; returns the event's seq.
    ``row`` is the case row as read in this transaction; a concurrent change is a Conflict."""
    seq = row["last_seq"] + 1
    new_hash = event_hash(row["last_hash"], row["case_no"], seq, action, row["state"], row["state"],
                          actor.user, actor.role, at, comment, fields)
    updated = conn.execute(
        cases_t.update().where(cases_t.c.id == row["id"], cases_t.c.version == row["version"])
        .values(**case_changes, version=row["version"] + 1, last_seq=seq, last_hash=new_hash,
                updated_at=at)
    ).rowcount
    if updated != 1:
        raise Conflict(f"case {row['case_no']} changed meanwhile; try again")
    conn.execute(events_t.insert().values(
        case_id=row["id"], seq=seq, action=action, from_state=row["state"], to_state=row["state"],
        actor=actor.user, role=actor.role, at=at, comment=comment,
        fields=json.dumps(dict(fields), ensure_ascii=False, sort_keys=True),
        prev_hash=row["last_hash"], hash=new_hash,
    ))
    return seq


def write_connection(rt: Runtime) -> Connection:
    return rt.engine.connect().execution_options(**{WRITE_OPTION: True})


def submit_case(
    rt: Runtime,
    item_code: str,
    applicant: Applicant,
    *,
    received_at: datetime | None = None,
    intake_channel: str = "window",
    fields: Mapping[str, object] | None = None,
    actor: Actor | None = None,
) -> Submitted:
    if not applicant.name or not applicant.name.strip():
        raise InvalidInput("applicant name is required", fields=["name"])
    now = rt.now()
    # A naive time is local (Asia/Shanghai), never the server's own zone.
    received_at = to_utc(received_at or now, rt.settings.tz)
    received_on = rt.local_date(received_at)
    item = rt.item_in_force(item_code, received_on)
    values = clean_fields(item.submit_fields, fields, f"item '{item.code}'")
    calendar = rt.calendar
    clocks = open_clocks(item, received_on)
    statutory_due, promised_due = clocks.dues(calendar)
    first_step_due = step_due(item, item.initial_state, received_on, calendar)
    actor = actor or Actor("applicant", "applicant")
    for _attempt in range(5):
        case_no = new_case_no(received_on)
        query_code = new_query_code()
        try:
            _insert_case(
                rt, item, applicant, case_no, query_code, received_at, received_on, intake_channel,
                values, clocks, statutory_due, promised_due, first_step_due, actor, now,
            )
        except IntegrityError as exc:
            if "case_no" in str(exc.orig).lower() or "cases" in str(exc.orig).lower():
                continue  # a case-number collision: draw again
            raise
        return Submitted(case_no, query_code)
    raise Conflict("could not allocate a unique case number; try again")


def _insert_case(
    rt: Runtime, item: ItemVersion, applicant: Applicant, case_no: str, query_code: str,
    received_at: datetime, received_on: date, intake_channel: str, values: dict[str, str],
    clocks: CaseClocks, statutory_due: DueDate | None, promised_due: DueDate | None,
    first_step_due: DueDate | None, actor: Actor, now: datetime,
) -> None:
    at = _utc(received_at)
    stamp = _utc(now)
    fields_json = json.dumps(values, ensure_ascii=False, sort_keys=True)
    first_hash = event_hash(
        GENESIS_HASH, case_no, 1, "submit", None, item.initial_state, actor.user, actor.role,
        at, None, values,
    )
    case = {
        "case_no": case_no, "query_hash": hash_query_code(case_no, query_code),
        "item_code": item.code, "item_version": item.version, "department": item.department,
        "state": item.initial_state, "version": 1, "applicant_name": applicant.name.strip(),
        "applicant_phone": applicant.phone, "applicant_id_number": applicant.id_number,
        "applicant_email": applicant.email, "applicant_wechat": applicant.wechat,
        "intake_channel": intake_channel, "fields": fields_json, "received_at": at,
        "received_on": received_on, **_clock_columns(clocks),
        **due_columns("statutory", statutory_due), **due_columns("promised", promised_due),
        "step_entered_on": received_on, **due_columns("step", first_step_due), "step_seq": 1,
        "last_seq": 1, "last_hash": first_hash, "closed_at": None, "updated_at": stamp,
    }
    with write_connection(rt) as conn, conn.begin():
        case_id = conn.execute(cases_t.insert().values(**case).returning(cases_t.c.id)).scalar_one()
        conn.execute(events_t.insert().values(
            case_id=case_id, seq=1, action="submit", from_state=None, to_state=item.initial_state,
            actor=actor.user, role=actor.role, at=at, comment=None, fields=fields_json,
            prev_hash=GENESIS_HASH, hash=first_hash,
        ))
        context = notice_context(
            rt, item, case, action_label="收件", state=item.initial_state, at=received_at,
            comment=None, fields=values,
        )
        rows = outbox_rows(item, case, case_id, 1, item.submit_notices, (), context, stamp)
        if rows:
            conn.execute(outbox_t.insert(), rows)


_FIRE_COLUMNS = (
    "id", "case_no", "item_code", "item_version", "department", "assigned_department", "state",
    "version", "applicant_name", "applicant_phone", "applicant_email", "applicant_wechat",
    "clock_running", "statutory_days",
    "statutory_anchor", "statutory_used", "promised_days", "promised_anchor", "promised_used",
    "extended", "statutory_due", "statutory_due_provisional", "promised_due",
    "promised_due_provisional", "step_due", "step_seq", "last_seq", "last_hash",
)
_SELECT_FOR_FIRE = f"SELECT {', '.join(_FIRE_COLUMNS)} FROM cases WHERE case_no = :case_no"
_DATE_COLUMNS = ("statutory_anchor", "promised_anchor", "statutory_due", "promised_due", "step_due")
_BOOL_COLUMNS = ("clock_running", "extended", "statutory_due_provisional", "promised_due_provisional")
EVENT_COLUMNS = ("case_id", "seq", "action", "from_state", "to_state", "actor", "role", "at", "comment",
                 "fields", "prev_hash", "hash")
OUTBOX_COLUMNS = ("created_at", "case_id", "case_no", "event_seq", "kind", "topic", "channel",
                  "recipient", "payload", "idempotency_key", "status", "attempts", "next_attempt_at",
                  "updated_at")
INSERT_EVENT = insert_sql("events", EVENT_COLUMNS)
INSERT_OUTBOX = insert_sql("outbox", OUTBOX_COLUMNS)


def _case_row(raw: dict[str, Any]) -> dict[str, Any]:
    for column in _DATE_COLUMNS:
        raw[column] = as_date(raw[column])
    for column in _BOOL_COLUMNS:
        raw[column] = bool(raw[column])
    return raw


@dataclass(frozen=True)
class Fired:
    case_no: str
    from_state: str
    to_state: str
    version: int
    seq: int
    plan: TransitionPlan


def fire(
    rt: Runtime,
    case_no: str,
    action: str,
    actor: Actor,
    *,
    fields: Mapping[str, object] | None = None,
    expected_version: int | None = None,
    comment: str | None = None,
    now: datetime | None = None,
) -> Fired:
    """Fire one transition. A stale ``expected_version`` is a Conflict, never an overwrite."""
    # `at` is when the step happened (it may be back-dated with --at); `stamp` is the wall clock,
    # which the outbox schedules by: a back-dated step must not look overdue for delivery.
    stamp = rt.now()
    at = to_utc(now or stamp, rt.settings.tz)
    on = rt.local_date(at)
    calendar = rt.calendar
    with write_connection(rt) as conn, conn.begin(), FastSQL(conn) as db:
        raw = db.fetch_one(_SELECT_FOR_FIRE, {"case_no": case_no})
        if raw is None:
            raise NotFound(f"case {case_no} not found")
        row = _case_row(raw)
        if expected_version is not None and expected_version != row["version"]:
            raise Conflict(
                f"case {case_no} is at version {row['version']}, not {expected_version}: "
                "someone else acted first; reload and try again",
                current_version=row["version"],
            )
        item = rt.item(row["item_code"], row["item_version"])
        plan, values = plan_transition(
            item, row["state"], clocks_from_row(item, row), action, actor, fields, on, calendar,
            row["department"], row["assigned_department"],
        )
        seq = row["last_seq"] + 1
        fields_json = json.dumps(values, ensure_ascii=False, sort_keys=True)
        new_hash = event_hash(
            row["last_hash"], case_no, seq, action, plan.from_state, plan.to_state, actor.user,
            actor.role, at, comment, values,
        )
        changes: dict[str, Any] = {
            "state": plan.to_state, "version": row["version"] + 1, "last_seq": seq,
            "last_hash": new_hash, "updated_at": stamp, **_clock_columns(plan.clocks),
            **due_columns("statutory", plan.statutory_due),
            **due_columns("promised", plan.promised_due),
        }
        if plan.to_state != plan.from_state:
            changes.update(step_entered_on=on, step_seq=seq, **due_columns("step", plan.step_due))
        if plan.closes:
            changes["closed_at"] = at
        if ASSIGNEE_FIELD in values:
            changes["assigned_department"] = values[ASSIGNEE_FIELD]
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        updated = db.execute(
            f"UPDATE cases SET {assignments} WHERE id = :_id AND version = :_version",
            {**changes, "_id": row["id"], "_version": row["version"]},
        )
        if updated != 1:
            raise Conflict(
                f"case {case_no} changed while '{action}' was being applied; reload and try again"
            )
        db.execute(INSERT_EVENT, {
            "case_id": row["id"], "seq": seq, "action": action, "from_state": plan.from_state,
            "to_state": plan.to_state, "actor": actor.user, "role": actor.role, "at": at,
            "comment": comment, "fields": fields_json, "prev_hash": row["last_hash"], "hash": new_hash,
        })
        transition = plan.transition
        if transition.notices or transition.triggers:
            case_after = {**row, **changes}
            context = notice_context(
                rt, item, case_after, action_label=transition.label, state=plan.to_state, at=at,
                comment=comment, fields=notice_fields(transition, values),
            )
            db.executemany(INSERT_OUTBOX, outbox_rows(
                item, case_after, row["id"], seq, transition.notices, transition.triggers, context, stamp,
            ))
    return Fired(case_no, plan.from_state, plan.to_state, row["version"] + 1, seq, plan)
