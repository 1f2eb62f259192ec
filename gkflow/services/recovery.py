"""找回查询码: case number + the case's phone → a one-time code to that phone → a new query code, shown
once (the old one stops working), recorded in the history without the code. The e-mail notice carries
the new code when the applicant gave an address; the SMS never does. Failures count as failed look-ups."""

from __future__ import annotations

from datetime import datetime

from gkflow.db import case_rows
from gkflow.db.engine import write_connection
from gkflow.domain.cases import Actor
from gkflow.domain.errors import NotFound
from gkflow.domain.identifiers import hash_query_code, new_query_code
from gkflow.domain.masking import mask_phone
from gkflow.runtime import Runtime
from gkflow.services.cases import append_event
from gkflow.services.lookup_limits import check_lookup, record_lookup_failure, record_lookup_success
from gkflow.services.notices import direct_rows, notice_context
from gkflow.services.phone_codes import (
    CODE_KEY,
    CODE_LIFETIME,
    CodeSent,
    WrongCode,
    check_code,
    checked_mobile,
    claim_in,
    request_code,
)
from gkflow.services.signing import ensure_key

RESET_ACTION = "query_code_reset"
RESET_NOTICE = "query_code_reset"


def _purpose(case_no: str) -> str:
    return f"recover:{case_no}"


def start_recovery(rt: Runtime, case_no: str, phone: str, *, client: str) -> CodeSent:
    """Send a code to the case's phone if ``phone`` is it; the same answer either way."""
    phone = checked_mobile(phone)
    case_no = case_no.strip().upper()
    check_lookup(rt, client=client, case_no=case_no)
    try:
        with rt.engine.connect() as conn:
            row = case_rows.case_row(conn, case_no)
    except NotFound:
        row = None
    if row is None or row["applicant_phone"] != phone:
        record_lookup_failure(rt, client=client, case_no=case_no)
        return CodeSent(mask_phone(phone), rt.now() + CODE_LIFETIME, int(CODE_LIFETIME.total_seconds()))
    return request_code(rt, phone, client=client, purpose=_purpose(case_no), purpose_label="找回查询码")


def confirm_recovery(rt: Runtime, case_no: str, phone: str, code: str, *, client: str) -> str:
    """The new query code for a right one-time code; WrongCode (a failed look-up) otherwise."""
    phone = checked_mobile(phone)
    case_no = case_no.strip().upper()
    counted = check_lookup(rt, client=client, case_no=case_no)
    new_code = new_query_code()
    ensure_key(rt, CODE_KEY)
    now = rt.now()
    try:
        verification_id = check_code(rt, phone, code, purpose=_purpose(case_no))
        with write_connection(rt.engine) as conn, conn.begin():
            claim_in(conn, rt, verification_id)
            row = case_rows.case_row(conn, case_no)
            seq = append_event(conn, rt, row, RESET_ACTION, Actor("applicant", "applicant"), at=now,
                               comment=None,
                               fields={}, query_hash=hash_query_code(case_no, new_code), phone_verified=True)
            case_rows.insert_outbox(conn, _notices(rt, row, seq, new_code, now))
    except (WrongCode, NotFound):
        record_lookup_failure(rt, client=client, case_no=case_no)
        raise
    record_lookup_success(rt, case_no=case_no, counted=counted)
    return new_code


def _notices(rt: Runtime, row: dict[str, object], seq: int, new_code: str,
             now: datetime) -> list[dict[str, object]]:
    item = rt.item(str(row["item_code"]), int(str(row["item_version"])))
    context = notice_context(rt.settings, item, row, action_label="找回查询码", state=str(row["state"]),
                             at=now, public_note=None, fields={})
    context["query_code"] = None  # only the e-mail's secret part carries it
    recipients: list[tuple[str, str, dict[str, str] | None]] = [("sms", str(row["applicant_phone"]), None)]
    if row.get("applicant_email"):
        recipients.append(("email", str(row["applicant_email"]), {"query_code": new_code}))
    return direct_rows(row, case_id=int(str(row["id"])), seq=seq, notice=RESET_NOTICE, recipients=recipients,
                       context=context, now=now)
