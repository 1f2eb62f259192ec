"""Window registration (窗口收件) that cannot double, the printed slip of any case, and a new query
code for an applicant who lost theirs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.db import case_rows
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import WindowRegistrationRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.domain.identifiers import (
    hash_form_token,
    hash_query_code,
    new_query_code,
    query_code_from_token,
    query_code_matches,
)
from gkflow.domain.items import ItemVersion
from gkflow.runtime import Runtime
from gkflow.services.accounts import get_account
from gkflow.services.cases import Applicant, append_event, submit_case_in
from gkflow.services.views import load_events

registrations_t = table_of(WindowRegistrationRow)
MIN_TOKEN_LENGTH = 16
QUERY_CODE_REISSUED = "query_code_reissued"

SlipKind = Literal["registration_receipt", "receipt", "acceptance"]


@dataclass(frozen=True)
class WindowRegistration:
    case_no: str
    query_code: str
    repeated: bool  # the form had been submitted before: no new case was made


def register_at_window(
    rt: Runtime,
    item_code: str,
    applicant: Applicant,
    *,
    form_token: str,
    actor: Actor,
    fields: dict[str, str] | None = None,
    materials: list[str] | None = None,
) -> WindowRegistration:
    """Register a case brought to the window, once per form: the same token answers with its case."""
    if len(form_token) < MIN_TOKEN_LENGTH:
        raise InvalidInput("表单已失效，请重新打开登记页面 (form token missing)", fields=["form_token"])
    token_hash = hash_form_token(form_token)
    code = query_code_from_token(form_token)
    earlier = _registered(rt, token_hash)
    if earlier:
        return WindowRegistration(earlier, code, repeated=True)
    try:
        with write_connection(rt.engine) as conn, conn.begin():
            # SQLite writers queue on BEGIN IMMEDIATE, so the second of two clicks sees the first here.
            found = conn.execute(select(registrations_t.c.case_no)
                                 .where(registrations_t.c.token_hash == token_hash)).scalar()
            if found:
                return WindowRegistration(found, code, repeated=True)
            submitted = submit_case_in(conn, rt, item_code, applicant, intake_channel="window",
                                       fields=fields, actor=actor, query_code=code)
            conn.execute(registrations_t.insert().values(
                token_hash=token_hash, case_no=submitted.case_no, username=actor.user,
                materials=json.dumps(materials or [], ensure_ascii=False), created_at=rt.now(),
            ))
    except IntegrityError:
        # PostgreSQL: a concurrent click committed the same token first.
        earlier = _registered(rt, token_hash)
        if earlier is None:
            raise
        return WindowRegistration(earlier, code, repeated=True)
    return WindowRegistration(submitted.case_no, code, repeated=False)


def _registered(rt: Runtime, token_hash: str) -> str | None:
    with rt.engine.connect() as conn:
        found: str | None = conn.execute(
            select(registrations_t.c.case_no).where(registrations_t.c.token_hash == token_hash)
        ).scalar()
        return found


@dataclass(frozen=True)
class SlipFacts:
    """What a printed slip needs beyond the case view: its kind, materials and who registered it."""

    kind: SlipKind
    materials: list[str]
    registered_by: str | None  # the clerk's display name
    code_reissued: bool


def slip_kind(item: ItemVersion, actions: list[str]) -> SlipKind:
    """依申请公开 has its own 登记回执; other items get a 收件凭证 until accepted, then a 受理通知书."""
    if item.code == "gov-info-request":
        return "registration_receipt"
    return "acceptance" if "accept" in actions else "receipt"


def slip_facts(rt: Runtime, case_id: int, case_no: str, item: ItemVersion) -> SlipFacts:
    """The slip's kind, the materials ticked at the window and the registering clerk."""
    actions = [ev["action"] for ev in load_events(rt, case_id)]
    with rt.engine.connect() as conn:
        row = conn.execute(
            select(registrations_t.c.materials, registrations_t.c.username)
            .where(registrations_t.c.case_no == case_no)
        ).first()
    clerk = get_account(rt, row[1]) if row else None
    return SlipFacts(
        kind=slip_kind(item, actions),
        materials=json.loads(row[0]) if row else [],
        registered_by=(clerk.display_name if clerk else row[1]) if row else None,
        code_reissued=QUERY_CODE_REISSUED in actions,
    )


def code_for_slip(rt: Runtime, case_no: str, code: str | None) -> str | None:
    """``code`` if it is the case's current query code (it came back from this clerk's browser)."""
    if not code:
        return None
    with rt.engine.connect() as conn:
        stored = str(case_rows.case_row(conn, case_no)["query_hash"])
    return code if query_code_matches(case_no, code, stored) else None


def reissue_query_code(rt: Runtime, case_no: str, actor: Actor) -> str:
    """A new query code for an applicant who lost theirs (identity checked at the window); the old
    one stops working. Recorded in the case's history; the code itself is not."""
    code = new_query_code()
    now = rt.now()
    with write_connection(rt.engine) as conn, conn.begin():
        row = case_rows.case_row(conn, case_no)
        append_event(conn, rt, row, QUERY_CODE_REISSUED, actor, at=now, comment=None, fields={},
                     query_hash=hash_query_code(case_no, code))
    return code
