"""短信验证码: a 6-digit one-time code to a phone before an online case exists (or before its query
code is reset), then a single-use token that proves the phone. Codes and tokens are stored hashed;
limits per phone and per client live in the database (gkflow.services.rate_counters).

The code travels through the outbox like any notice, in the row's secret part (cleared once sent);
it is not an applicant notice, so quiet hours do not hold it: the person asked for it now.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from gkflow.db.door_models import PhoneVerificationRow
from gkflow.db.engine import write_connection
from gkflow.db.models import OutboxRow, table_of
from gkflow.domain.errors import InvalidInput, NotFound, PhoneUnverified
from gkflow.domain.fields import clean_contact
from gkflow.domain.masking import mask_phone
from gkflow.runtime import Runtime
from gkflow.services import rate_counters
from gkflow.services.contacts import CONTACTS, is_mobile
from gkflow.services.signing import ensure_key, keyed_hash

CODE_LIFETIME = timedelta(minutes=5)
CODE_TRIES = 5
TOKEN_LIFETIME = timedelta(minutes=30)
APPLY = "apply"
VERIFICATION_NOTICE = "verification_code"

verifications_t = table_of(PhoneVerificationRow)
outbox_t = table_of(OutboxRow)


class WrongCode(InvalidInput):
    """A wrong, expired or spent one-time code (the message says which, in Chinese)."""


@dataclass(frozen=True)
class CodeSent:
    phone_masked: str
    expires_at: datetime
    expires_in_seconds: int


def checked_mobile(phone: str | None) -> str:
    """A mobile number that can receive the code, normalised; InvalidInput otherwise."""
    try:
        normalised = clean_contact("phone", phone, CONTACTS)
    except InvalidInput:
        normalised = None
    if normalised is None or not is_mobile(normalised):
        raise InvalidInput("请填写有效的手机号码（用于接收短信验证码）", fields=["phone"])
    return normalised


CODE_KEY = "phone-codes"


def _code_hash(rt: Runtime, verification_id: int, code: str) -> str:
    return keyed_hash(rt, CODE_KEY, f"{verification_id}:{code}")


def request_code(rt: Runtime, phone: str, *, client: str, purpose: str = APPLY,
                 purpose_label: str = "网上申请", send: bool = True) -> CodeSent:
    """Send a one-time code to ``phone`` (limits per phone and per client; nothing written if refused).
    ``send=False`` records the attempt without sending (a recovery whose phone does not match)."""
    phone = checked_mobile(phone)
    ensure_key(rt, CODE_KEY)
    now = rt.now()
    code = f"{secrets.randbelow(10**6):06d}"
    expires_at = now + CODE_LIFETIME
    with write_connection(rt.engine) as conn, conn.begin():
        rate_counters.count_in(conn, rate_counters.CODE_PER_CLIENT_HOUR, client, now)
        rate_counters.count_in(conn, rate_counters.CODE_PER_PHONE_MINUTE, phone, now)
        rate_counters.count_in(conn, rate_counters.CODE_PER_PHONE_DAY, phone, now)
        verification_id = conn.execute(verifications_t.insert().values(
            phone=phone, purpose=purpose, client=client, code_hash="-", created_at=now,
            expires_at=expires_at if send else now,
        ).returning(verifications_t.c.id)).scalar_one()
        conn.execute(verifications_t.update().where(verifications_t.c.id == verification_id)
                     .values(code_hash=_code_hash(rt, verification_id, code) if send else "-"))
        if send:
            conn.execute(outbox_t.insert().values(**_code_message(
                verification_id, phone, code, purpose_label, now)))
    return CodeSent(mask_phone(phone), expires_at, int(CODE_LIFETIME.total_seconds()))


def _code_message(verification_id: int, phone: str, code: str, purpose_label: str,
                  now: datetime) -> dict[str, Any]:
    return {
        "created_at": now, "case_id": None, "case_no": None, "event_seq": None, "kind": "notice",
        "topic": VERIFICATION_NOTICE, "channel": "sms", "recipient": phone,
        "payload": json.dumps({"purpose": purpose_label,
                               "minutes": int(CODE_LIFETIME.total_seconds() // 60)}, ensure_ascii=False),
        "secret": json.dumps({"one_time_code": code}),
        "idempotency_key": f"verification/{verification_id}", "status": "created", "attempts": 0,
        "next_attempt_at": now, "updated_at": now,
    }


def check_code(rt: Runtime, phone: str, code: str, *, purpose: str) -> int:
    """The id of the latest live verification of ``phone`` for ``purpose`` if ``code`` is its code;
    WrongCode otherwise (a wrong code counts one of the 5 tries). Call outside a write transaction,
    then ``claim_in`` the verification inside the one that uses it."""
    now = rt.now()
    with rt.engine.connect() as conn:
        row = conn.execute(
            select(verifications_t).where(
                verifications_t.c.phone == phone, verifications_t.c.purpose == purpose,
                verifications_t.c.confirmed_at.is_(None),
            ).order_by(verifications_t.c.id.desc()).limit(1)
        ).mappings().first()
    if row is None or row["code_hash"] == "-":
        raise WrongCode("验证码不正确或已失效，请重新获取")
    if row["expires_at"] <= now:
        raise WrongCode("验证码已过期（有效期5分钟），请重新获取")
    if row["attempts"] >= CODE_TRIES:
        raise WrongCode("验证码输错次数过多，请重新获取")
    clean = "".join(code.split())
    if not (clean.isdigit() and len(clean) == 6) or not secrets.compare_digest(
            _code_hash(rt, row["id"], clean), row["code_hash"]):
        _count_wrong_try(rt, row["id"])
        left = CODE_TRIES - row["attempts"] - 1
        raise WrongCode(f"验证码不正确，还可以再试{left}次" if left else "验证码输错次数过多，请重新获取")
    return int(row["id"])


def claim_in(conn: Connection, rt: Runtime, verification_id: int) -> None:
    """Mark a checked verification as used up, in the caller's transaction (once only)."""
    claimed = conn.execute(verifications_t.update().where(
        verifications_t.c.id == verification_id, verifications_t.c.confirmed_at.is_(None),
        verifications_t.c.attempts < CODE_TRIES,
    ).values(confirmed_at=rt.now())).rowcount
    if claimed != 1:
        raise WrongCode("验证码已使用，请重新获取")


def _count_wrong_try(rt: Runtime, verification_id: int) -> None:
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(verifications_t.update().where(verifications_t.c.id == verification_id)
                     .values(attempts=verifications_t.c.attempts + 1))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirm_code(rt: Runtime, phone: str, code: str) -> str:
    """The single-use verification token (valid 30 minutes) for a right code; WrongCode otherwise."""
    phone = checked_mobile(phone)
    ensure_key(rt, CODE_KEY)
    token = "pv_" + secrets.token_urlsafe(32)
    verification_id = check_code(rt, phone, code, purpose=APPLY)
    with write_connection(rt.engine) as conn, conn.begin():
        claim_in(conn, rt, verification_id)
        conn.execute(verifications_t.update().where(verifications_t.c.id == verification_id).values(
            token_hash=_token_hash(token), token_expires_at=rt.now() + TOKEN_LIFETIME))
    return token


def spend_token_in(conn: Connection, rt: Runtime, phone: str | None, token: str | None) -> None:
    """Spend a verification token on a submission for ``phone``, in the submission's transaction
    (a refused submission leaves the token usable); PhoneUnverified if it is not a live one."""
    if not token:
        raise PhoneUnverified("请先验证手机号码（短信验证码）后再提交申请")
    row = conn.execute(select(verifications_t).where(
        verifications_t.c.token_hash == _token_hash(token.strip()))).mappings().first()
    now = rt.now()
    if (row is None or row["used_at"] is not None or row["token_expires_at"] is None
            or row["token_expires_at"] <= now):
        raise PhoneUnverified("手机验证已失效，请重新获取短信验证码")
    if phone is None or row["phone"] != phone:
        raise PhoneUnverified("手机号码与验证的号码不一致，请重新验证")
    updated = conn.execute(verifications_t.update().where(
        verifications_t.c.id == row["id"], verifications_t.c.used_at.is_(None)).values(used_at=now)).rowcount
    if updated != 1:
        raise PhoneUnverified("手机验证已使用，请重新获取短信验证码")


def latest_verification(rt: Runtime, phone: str, purpose: str) -> dict[str, Any]:
    """The newest verification of ``phone`` for ``purpose`` (tests and the sandbox page)."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(verifications_t).where(
            verifications_t.c.phone == phone, verifications_t.c.purpose == purpose,
        ).order_by(verifications_t.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        raise NotFound("no verification")
    return dict(row)
