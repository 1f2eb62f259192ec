"""Submit and advance cases (DESIGN.md section 4): state, event and outbox rows in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from gkflow.clock import to_utc
from gkflow.db import case_rows, case_search
from gkflow.db.engine import write_connection
from gkflow.db.fastsql import FastSQL
from gkflow.domain.cases import (
    ASSIGNEE_FIELD,
    Actor,
    TransitionPlan,
    clean_fields,
    open_clocks,
    plan_transition,
    step_due,
)
from gkflow.domain.errors import Conflict, InvalidInput, NotFound
from gkflow.domain.events import GENESIS_HASH, event_hash
from gkflow.domain.identifiers import hash_query_code, new_case_no, new_query_code
from gkflow.domain.search import case_terms
from gkflow.runtime import Runtime
from gkflow.services.notices import notice_context, notice_fields, outbox_rows

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
    query_code: str | None = None,
) -> Submitted:
    """Register a case (收件) of the item version in force on the day of receipt, in one transaction."""
    with write_connection(rt.engine) as conn, conn.begin():
        return submit_case_in(conn, rt, item_code, applicant, received_at=received_at,
                              intake_channel=intake_channel, fields=fields, actor=actor,
                              query_code=query_code)


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
    query_code: str | None = None,
) -> Submitted:
    """`submit_case` inside the caller's transaction (a use case that writes more in the same one).

    ``query_code`` is drawn when not given (a window registration derives it from its form token).
    """
    if not applicant.name or not applicant.name.strip():
        raise InvalidInput("applicant name is required", fields=["name"])
    now = rt.now()
    # A naive time is local (Asia/Shanghai), never the server's own zone.
    received_at = to_utc(received_at or now, rt.settings.tz)
    received_on = rt.local_date(received_at)
    item = rt.item_in_force(item_code, received_on)
    values = clean_fields(item.submit_fields, fields, context_label=f"item '{item.code}'")
    calendar = rt.calendar
    clocks = open_clocks(item, received_on)
    statutory_due, promised_due = clocks.dues(calendar)
    first_step_due = step_due(item, item.initial_state, received_on, calendar)
    actor = actor or Actor("applicant", "applicant")
    at = received_at.astimezone(UTC)
    stamp = now.astimezone(UTC)
    fields_json = json.dumps(values, ensure_ascii=False, sort_keys=True)
    for _attempt in range(CASE_NO_ATTEMPTS):
        case_no = new_case_no(received_on)
        code = query_code or new_query_code()
        first_hash = event_hash(GENESIS_HASH, case_no, 1, "submit", None, item.initial_state, actor.user,
                                actor.role, at, None, values)
        case = {
            "case_no": case_no, "query_hash": hash_query_code(case_no, code),
            "item_code": item.code, "item_version": item.version, "department": item.department,
            "state": item.initial_state, "version": 1, "applicant_name": applicant.name.strip(),
            "applicant_phone": applicant.phone, "applicant_id_number": applicant.id_number,
            "applicant_email": applicant.email, "applicant_wechat": applicant.wechat,
            "intake_channel": intake_channel, "fields": fields_json, "received_at": at,
            "received_on": received_on, **case_rows.clock_columns(clocks),
            **case_rows.due_columns("statutory", statutory_due),
            **case_rows.due_columns("promised", promised_due),
            "step_entered_on": received_on, **case_rows.due_columns("step", first_step_due),
            "step_seq": 1, "last_seq": 1, "last_hash": first_hash, "closed_at": None, "updated_at": stamp,
        }
        first_event = {
            "seq": 1, "action": "submit", "from_state": None, "to_state": item.initial_state,
            "actor": actor.user, "role": actor.role, "at": at, "comment": None, "fields": fields_json,
            "prev_hash": GENESIS_HASH, "hash": first_hash,
        }
        try:
            with conn.begin_nested():
                case_id = case_rows.insert_case(conn, case, first_event)
        except IntegrityError as exc:
            if case_rows.is_case_no_collision(exc):
                continue  # that number is taken: draw again
            raise
        case_search.insert_terms(conn, case_id, case_terms(case_no, case["applicant_name"], applicant.phone))
        context = notice_context(rt.settings, item, case, action_label="收件", state=item.initial_state,
                                 at=received_at, comment=None, fields=values)
        case_rows.insert_outbox(conn, outbox_rows(item, case, case_id=case_id, seq=1,
                                                  notices=item.submit_notices, triggers=(),
                                                  context=context, now=stamp))
        return Submitted(case_no, code)
    raise Conflict("could not allocate a unique case number; try again")


def fire(
    rt: Runtime,
    case_no: str,
    action: str,
    actor: Actor,
    *,
    fields: Mapping[str, object] | None = None,
    expected_version: int | None = None,
    comment: str | None = None,
    occurred_at: datetime | None = None,
) -> Fired:
    """Fire one transition. A stale ``expected_version`` is a Conflict, never an overwrite."""
    # `occurred_at` is when the step happened (window staff may enter it late); `stamp` is the wall
    # clock, which the outbox schedules by: a back-dated step must not look overdue for delivery.
    stamp = rt.now()
    at = to_utc(occurred_at or stamp, rt.settings.tz)
    on = rt.local_date(at)
    calendar = rt.calendar
    with write_connection(rt.engine) as conn, conn.begin(), FastSQL(conn) as db:
        row = case_rows.lock_for_fire(db, case_no)
        if row is None:
            raise NotFound(f"case {case_no} not found")
        if expected_version is not None and expected_version != row["version"]:
            raise Conflict(
                f"case {case_no} is at version {row['version']}, not {expected_version}: "
                "someone else acted first; reload and try again",
                current_version=row["version"],
            )
        item = rt.item(row["item_code"], row["item_version"])
        plan = plan_transition(
            item, row["state"], case_rows.clocks_from_row(item, row), action, actor, fields=fields,
            on=on, calendar=calendar, case_department=row["department"],
            assigned_department=row["assigned_department"],
        )
        values = plan.values
        seq = row["last_seq"] + 1
        new_hash = event_hash(
            row["last_hash"], case_no, seq, action, plan.from_state, plan.to_state, actor.user,
            actor.role, at, comment, values,
        )
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
        if not case_rows.update_case_if_version(db, row["id"], row["version"], changes):
            raise Conflict(
                f"case {case_no} changed while '{action}' was being applied; reload and try again"
            )
        case_rows.insert_event(db, {
            "case_id": row["id"], "seq": seq, "action": action, "from_state": plan.from_state,
            "to_state": plan.to_state, "actor": actor.user, "role": actor.role, "at": at,
            "comment": comment, "fields": json.dumps(values, ensure_ascii=False, sort_keys=True),
            "prev_hash": row["last_hash"], "hash": new_hash,
        })
        transition = plan.transition
        if transition.notices or transition.triggers:
            case_after = {**row, **changes}
            context = notice_context(
                rt.settings, item, case_after, action_label=transition.label, state=plan.to_state, at=at,
                comment=comment, fields=notice_fields(transition, values),
            )
            case_rows.insert_outbox_rows(db, outbox_rows(
                item, case_after, case_id=row["id"], seq=seq, notices=transition.notices,
                triggers=transition.triggers, context=context, now=stamp,
            ))
    return Fired(case_no, plan.from_state, plan.to_state, row["version"] + 1, seq, plan)


def append_event(
    conn: Connection, row: Mapping[str, Any], action: str, actor: Actor, *, at: datetime,
    comment: str | None, fields: Mapping[str, str], **case_changes: Any,
) -> int:
    """Append an event that does not move the case (a warning, a rating, a recomputed due date).

    It joins the case's hash chain and bumps its version in the caller's transaction; ``row`` is the
    case row as read in that transaction, so a concurrent change is a Conflict. Returns the seq.
    """
    seq = int(row["last_seq"]) + 1
    new_hash = event_hash(row["last_hash"], row["case_no"], seq, action, row["state"], row["state"],
                          actor.user, actor.role, at, comment, fields)
    case_rows.append_event_row(conn, row, seq=seq, new_hash=new_hash, action=action, actor=actor.user,
                               role=actor.role, at=at, comment=comment, fields=fields,
                               case_changes=case_changes)
    return seq
