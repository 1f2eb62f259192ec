"""Submit and advance cases (DESIGN.md section 4): state, event and outbox rows in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from gkflow.clock import to_utc
from gkflow.db import case_rows, case_search
from gkflow.db.engine import write_connection
from gkflow.db.fastsql import FastSQL, write_transaction
from gkflow.domain.bounds import check_date, check_text, check_texts
from gkflow.domain.cases import (
    ASSIGNEE_FIELD,
    Actor,
    TransitionPlan,
    check_step_time,
    clean_fields,
    open_clocks,
    plan_transition,
    step_due,
)
from gkflow.domain.errors import Conflict, CorruptRecord, InvalidInput, NotFound
from gkflow.domain.events import GENESIS_HASH, seal_event
from gkflow.domain.fields import clean_contact, clean_name, has_control_characters
from gkflow.domain.identifiers import hash_query_code, new_case_no, new_query_code
from gkflow.domain.search import case_terms
from gkflow.runtime import Runtime
from gkflow.services.contacts import CONTACTS
from gkflow.services.notices import notice_context, notice_fields, outbox_rows

# The longest note a step may carry (the internal comment and the note to the applicant alike).
NOTE_MAX_LENGTH = 2000

# Attempts at drawing an unused case number before giving up (six letters: a collision is rare).
CASE_NO_ATTEMPTS = 5


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


@dataclass(frozen=True)
class Fired:
    case_no: str
    from_state: str
    to_state: str
    version: int
    seq: int
    plan: TransitionPlan


def submit_case(
    rt: Runtime,
    item_code: str,
    applicant: Applicant,
    *,
    received_at: datetime | None = None,
    intake_channel: str = "window",
    fields: Mapping[str, object] | None = None,
    actor: Actor | None = None,
    phone_verified: bool = True,
    query_code: str | None = None,
) -> Submitted:
    """Register a case (收件) of the item version in force on the day of receipt, in one transaction.
    Phones taken at the window, from the CLI or a 12345 work order count as verified."""
    with write_connection(rt.engine) as conn, conn.begin():
        return submit_case_in(conn, rt, item_code, applicant, received_at=received_at,
                              intake_channel=intake_channel, fields=fields, actor=actor,
                              phone_verified=phone_verified, query_code=query_code)


def submit_case_in(
    conn: Connection,
    rt: Runtime,
    item_code: str,
    applicant: Applicant,
    *,
    received_at: datetime | None = None,
    intake_channel: str = "window",
    fields: Mapping[str, object] | None = None,
    actor: Actor | None = None,
    phone_verified: bool = True,
    query_code: str | None = None,
) -> Submitted:
    """`submit_case` inside the caller's transaction (a use case that writes more in the same one).

    ``query_code`` is drawn when not given (a window registration derives it from its form token).
    """
    _check_inputs(applicant, fields, received_at)
    applicant = checked_applicant(applicant)
    now = rt.now()
    # A naive time is local (Asia/Shanghai), never the server's own zone.
    received_at = to_utc(received_at or now, rt.settings.tz)
    received_on = rt.local_date(received_at)
    item = rt.item_in_force(item_code, received_on)
    values = clean_fields(item.submit_fields, fields, context_label=f"“{item.name}”", contacts=CONTACTS,
                          materials=item.material_names)
    calendar = rt.calendar
    clocks = open_clocks(item, received_on)
    statutory_due, promised_due = clocks.dues(calendar)
    first_step_due = step_due(item, item.initial_state, received_on, calendar)
    actor = actor or Actor("applicant", "applicant")
    at = received_at.astimezone(UTC)
    stamp = now.astimezone(UTC)
    fields_json = json.dumps(values, ensure_ascii=False, sort_keys=True)
    keys = rt.keyring
    for _attempt in range(CASE_NO_ATTEMPTS):
        case_no = new_case_no(received_on)
        code = query_code or new_query_code()
        case = {
            "case_no": case_no, "query_hash": hash_query_code(case_no, code),
            "item_code": item.code, "item_version": item.version, "department": item.department,
            "state": item.initial_state, "version": 1, "applicant_name": applicant.name.strip(),
            "applicant_phone": applicant.phone, "applicant_id_number": applicant.id_number,
            "applicant_email": applicant.email, "applicant_wechat": applicant.wechat,
            "intake_channel": intake_channel, "phone_verified": phone_verified and bool(applicant.phone),
            "fields": fields_json, "received_at": at,
            "received_on": received_on, **case_rows.clock_columns(clocks),
            **case_rows.due_columns("statutory", statutory_due),
            **case_rows.due_columns("promised", promised_due),
            "step_entered_on": received_on, **case_rows.due_columns("step", first_step_due),
            "step_seq": 1, "last_seq": 1, "closed_at": None, "updated_at": stamp,
        }
        first_event: dict[str, Any] = {
            "seq": 1, "action": "submit", "from_state": None, "to_state": item.initial_state,
            "actor": actor.user, "role": actor.role, "at": at, "comment": None, "fields": fields_json,
            "prev_hash": GENESIS_HASH, "query_hash": case["query_hash"],
        }
        # The first event also seals the case's identity columns (applicant, item, receipt).
        case["last_hash"] = seal_event(keys, first_event, case_no, identity=case)
        case_id = case_rows.insert_case(conn, case, first_event)
        if case_id is None:
            continue  # that number is taken: draw again
        case_search.insert_terms(conn, case_id, case_terms(case_no, case["applicant_name"], applicant.phone))
        context = notice_context(rt.settings, item, case, action_label="收件", state=item.initial_state,
                                 at=received_at, public_note=None, fields=values)
        case_rows.insert_outbox(conn, outbox_rows(item, case, case_id=case_id, seq=1,
                                                  notices=item.submit_notices, triggers=(),
                                                  context=context, now=stamp))
        return Submitted(case_no, code)
    raise Conflict("could not allocate a unique case number; try again")


def checked_applicant(applicant: Applicant) -> Applicant:
    """The applicant with a checked name and normalised phone, e-mail and 证件号码 (InvalidInput if bad)."""
    return Applicant(
        name=clean_name(applicant.name),
        phone=clean_contact("phone", applicant.phone, CONTACTS),
        id_number=clean_contact("id_number", applicant.id_number, CONTACTS),
        email=clean_contact("email", applicant.email, CONTACTS),
        wechat=applicant.wechat,
    )


def checked_note(note: str | None, label: str) -> str | None:
    """A step's note, trimmed (None if empty); InvalidInput if too long or holding control characters."""
    if note is None or not note.strip():
        return None
    note = note.replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX_LENGTH or has_control_characters(note, multiline=True):
        raise InvalidInput(f"“{label}”须为文字，不超过{NOTE_MAX_LENGTH}个字", fields=[label])
    return note
def _check_inputs(applicant: Applicant, fields: Mapping[str, object] | None,
                  received_at: datetime | None) -> None:
    """The input bounds (gkflow.domain.bounds) of a submission, whichever door it came in by."""
    for name in ("name", "phone", "id_number", "email", "wechat"):
        check_text(getattr(applicant, name), name)
    check_texts(fields)
    check_date(received_at, "received_at")


def fire(
    rt: Runtime,
    case_no: str,
    action: str,
    actor: Actor,
    *,
    fields: Mapping[str, object] | None = None,
    expected_version: int | None = None,
    comment: str | None = None,
    public_note: str | None = None,
    occurred_at: datetime | None = None,
    backdate_reason: str | None = None,
) -> Fired:
    """Fire one transition. A stale ``expected_version`` is a Conflict, never an overwrite; a step
    dated before the case's previous event is refused, a back-dated one needs ``backdate_reason``.
    ``comment`` is the internal note (内部意见); ``public_note`` is shown to the applicant and in notices."""
    step = _Step(fields, expected_version, comment, public_note, occurred_at, backdate_reason)
    # Straight on a pooled DBAPI connection: ~60 µs less than a SQLAlchemy transaction (decision 8).
    with write_transaction(rt.engine) as db:
        return _fire(db, rt, case_no, action, actor, step)


def fire_in(
    conn: Connection,
    rt: Runtime,
    case_no: str,
    action: str,
    actor: Actor,
    *,
    fields: Mapping[str, object] | None = None,
    expected_version: int | None = None,
    comment: str | None = None,
    public_note: str | None = None,
    occurred_at: datetime | None = None,
    backdate_reason: str | None = None,
) -> Fired:
    """`fire` inside the caller's transaction (online correction adds its files in the same one)."""
    step = _Step(fields, expected_version, comment, public_note, occurred_at, backdate_reason)
    with FastSQL(conn) as db:
        return _fire(db, rt, case_no, action, actor, step)


@dataclass(frozen=True)
class _Step:
    fields: Mapping[str, object] | None
    expected_version: int | None
    comment: str | None
    public_note: str | None
    occurred_at: datetime | None
    backdate_reason: str | None


def _fire(db: FastSQL, rt: Runtime, case_no: str, action: str, actor: Actor, step: _Step) -> Fired:
    # `occurred_at` is when the step happened (window staff may enter it late); `stamp` is the wall
    # clock, which the outbox schedules by: a back-dated step must not look overdue for delivery.
    check_date(step.occurred_at, "occurred_at")
    check_texts(step.fields)
    check_text(step.comment, "comment")
    stamp = rt.now()
    at = to_utc(step.occurred_at or stamp, rt.settings.tz)
    on = rt.local_date(at)
    calendar = rt.calendar
    keys = rt.keyring
    comment = checked_note(step.comment, "内部意见")
    public_note = checked_note(step.public_note, "对申请人说明")
    row = case_rows.lock_for_fire(db, case_no)
    if row is None:
        raise NotFound(f"case {case_no} not found")
    if step.expected_version is not None and step.expected_version != row["version"]:
        raise Conflict(
            f"case {case_no} is at version {row['version']}, not {step.expected_version}: "
            "someone else acted first; reload and try again",
            current_version=row["version"],
        )
    reason = check_step_time(at, previous_at=row["last_event_at"], now=stamp, reason=step.backdate_reason,
                             tz=rt.settings.tz)
    item = rt.item(row["item_code"], row["item_version"])
    if row["state"] not in item.states:
        raise CorruptRecord(f"case {case_no}: its state {row['state']!r} is not a state of {item.code} "
                            f"v{item.version}; run `gkflow audit verify`", case_no=case_no, field="state")
    plan = plan_transition(
        item, row["state"], case_rows.clocks_from_row(item, row), action, actor, fields=step.fields,
        on=on, calendar=calendar, case_department=row["department"],
        assigned_department=row["assigned_department"], contacts=CONTACTS,
    )
    values = plan.values
    seq = row["last_seq"] + 1
    event: dict[str, Any] = {
        "case_id": row["id"], "seq": seq, "action": action, "from_state": plan.from_state,
        "to_state": plan.to_state, "actor": actor.user, "role": actor.role, "at": at,
        "comment": comment, "public_note": public_note,
        "fields": json.dumps(values, ensure_ascii=False, sort_keys=True),
        "prev_hash": row["last_hash"], "recorded_at": stamp if reason else None,
        "backdate_reason": reason,
    }
    new_hash = seal_event(keys, event, case_no)
    changes: dict[str, Any] = {
        "state": plan.to_state, "version": row["version"] + 1, "last_seq": seq,
        "last_hash": new_hash, "updated_at": stamp, **case_rows.clock_columns(plan.clocks),
        **case_rows.due_columns("statutory", plan.statutory_due),
        **case_rows.due_columns("promised", plan.promised_due),
    }
    if plan.to_state != plan.from_state:
        changes.update(step_entered_on=on, step_seq=seq, **case_rows.due_columns("step", plan.step_due))
    if plan.closes:
        changes["closed_at"] = at
    if ASSIGNEE_FIELD in values:
        changes["assigned_department"] = values[ASSIGNEE_FIELD]
    if not case_rows.update_case_if_version(db, row["id"], row["version"], changes, current=row):
        raise Conflict(
            f"case {case_no} changed while '{action}' was being applied; reload and try again"
        )
    case_rows.insert_event(db, event)
    transition = plan.transition
    if transition.notices or transition.triggers:
        case_after = {**row, **changes}
        context = notice_context(
            rt.settings, item, case_after, action_label=transition.label, state=plan.to_state, at=at,
            public_note=public_note, fields=notice_fields(transition, values),
        )
        case_rows.insert_outbox_rows(db, outbox_rows(
            item, case_after, case_id=row["id"], seq=seq, notices=transition.notices,
            triggers=transition.triggers, context=context, now=stamp,
        ))
    return Fired(case_no, plan.from_state, plan.to_state, row["version"] + 1, seq, plan)


def append_event(
    conn: Connection, rt: Runtime, row: Mapping[str, Any], action: str, actor: Actor, *, at: datetime,
    comment: str | None, fields: Mapping[str, str], public_note: str | None = None, **case_changes: Any,
) -> int:
    """Append an event that does not move the case (a warning, a rating, a recomputed due date).

    It joins the case's chain and bumps its version in the caller's transaction; ``row`` is the
    case row as read in that transaction, so a concurrent change is a Conflict. Returns the seq.
    """
    seq = int(row["last_seq"]) + 1
    event: dict[str, Any] = {
        "seq": seq, "action": action, "from_state": row["state"], "to_state": row["state"],
        "actor": actor.user, "role": actor.role, "at": at, "comment": comment, "public_note": public_note,
        "fields": json.dumps(dict(fields), ensure_ascii=False, sort_keys=True),
        "prev_hash": row["last_hash"], "query_hash": case_changes.get("query_hash"),
    }
    seal_event(rt.keyring, event, row["case_no"])
    case_rows.append_event_row(conn, row, event, updated_at=at, case_changes=case_changes)
    return seq
