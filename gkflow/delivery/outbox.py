"""The outbox (发件箱) as a work queue: claim due rows with a lease, then record each outcome.

Claims are atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the claim is one
``UPDATE … RETURNING`` inside a ``BEGIN IMMEDIATE`` transaction. A dispatcher that dies leaves its
rows leased; once the lease expires another dispatcher re-claims them, so nothing is lost. No
database transaction is held open while a message is being sent.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from gkflow.db.engine import write_connection
from gkflow.db.models import OutboxRow, table_of
from gkflow.runtime import Runtime
from notifications.policy import Status

outbox_t = table_of(OutboxRow)

# The status vocabulary lives in one place, notifications.policy.Status; plain strings here for SQL.
CREATED = Status.CREATED.value
SENDING = Status.SENDING.value
DELIVERED = Status.DELIVERED.value
TEMPORARY_FAILURE = Status.TEMPORARY_FAILURE.value
PERMANENT_FAILURE = Status.PERMANENT_FAILURE.value
TECHNICAL_FAILURE = Status.TECHNICAL_FAILURE.value
DEAD = Status.DEAD.value
# Rows in these states are waiting for (another) attempt.
PENDING = (CREATED, TEMPORARY_FAILURE)
# Rows in these states are finished.
FINAL = (DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, DEAD)
STATUSES = (CREATED, SENDING, DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE, DEAD)
# A provider accepted the message and a receipt will follow: `sending` with no lease, never re-claimed.
AWAITING_RECEIPT = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    case_no: str | None
    kind: str
    topic: str
    channel: str | None
    recipient: str | None
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int  # including the attempt this claim is for
    created_at: datetime
    retry_from: datetime  # the retry horizon counts from here: creation, or an administrator's retry


def _due_condition(now: datetime) -> Any:
    """Pending and due, or leased by a dispatcher whose lease has run out."""
    return or_(
        and_(outbox_t.c.status.in_(PENDING), outbox_t.c.next_attempt_at <= now),
        and_(outbox_t.c.status == SENDING, outbox_t.c.lease_until < now),
    )


def due_count(
    rt: Runtime, *, kind: str = "notice", now: datetime | None = None,
    topics: Collection[str] | None = None,
) -> int:
    """The cheap poll: how many rows could be claimed now (an indexed count, no lock)."""
    now = now or rt.now()
    conditions = [outbox_t.c.kind == kind, _due_condition(now)]
    if topics is not None:
        conditions.append(outbox_t.c.topic.in_(list(topics)))
    with rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox_t).where(*conditions)).scalar_one()


def due_backlog(rt: Runtime, *, now: datetime | None = None) -> tuple[int, datetime | None]:
    """(notices due now, since when the oldest of them has been due): the outbox lag of /healthz.
    A pending row is due from its next attempt; a row whose lease ran out, from the lease's end."""
    now = now or rt.now()
    pending = and_(outbox_t.c.kind == "notice", outbox_t.c.status.in_(PENDING),
                   outbox_t.c.next_attempt_at <= now)
    expired = and_(outbox_t.c.kind == "notice", outbox_t.c.status == SENDING, outbox_t.c.lease_until < now)
    with rt.engine.connect() as conn:
        n_pending, since_pending = conn.execute(
            select(func.count(), func.min(outbox_t.c.next_attempt_at)).where(pending)).one()
        n_expired, since_expired = conn.execute(
            select(func.count(), func.min(outbox_t.c.lease_until)).where(expired)).one()
    since = min((t for t in (since_pending, since_expired) if t is not None), default=None)
    return n_pending + n_expired, since


def claim(
    rt: Runtime,
    *,
    worker: str,
    kind: str = "notice",
    limit: int = 100,
    lease_seconds: int = 60,
    topics: Collection[str] | None = None,
    channels: Collection[str] | None = None,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    now = now or rt.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    conditions = [outbox_t.c.kind == kind, _due_condition(now)]
    if topics is not None:
        conditions.append(outbox_t.c.topic.in_(list(topics)))
    if channels is not None:
        conditions.append(outbox_t.c.channel.in_(list(channels)))
    candidates = select(outbox_t.c.id).where(*conditions).order_by(outbox_t.c.id).limit(limit)
    if rt.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(outbox_t)
        .where(outbox_t.c.id.in_(candidates.scalar_subquery()))
        .values(status=SENDING, lease_until=lease_until, leased_by=worker,
                attempts=outbox_t.c.attempts + 1, updated_at=now)
        .returning(
            outbox_t.c.id, outbox_t.c.case_no, outbox_t.c.kind, outbox_t.c.topic,
            outbox_t.c.channel, outbox_t.c.recipient, outbox_t.c.payload,
            outbox_t.c.idempotency_key, outbox_t.c.attempts, outbox_t.c.created_at,
            outbox_t.c.retry_from, outbox_t.c.secret,
        )
    )
    with write_connection(rt.engine) as conn, conn.begin():
        rows = conn.execute(statement).all()
    messages = [
        OutboxMessage(
            id=r.id, case_no=r.case_no, kind=r.kind, topic=r.topic, channel=r.channel,
            recipient=r.recipient, payload=_payload(r.kind, r.payload, r.secret),
            idempotency_key=r.idempotency_key, attempts=r.attempts, created_at=r.created_at,
            retry_from=r.retry_from or r.created_at,
        )
        for r in rows
    ]
    messages.sort(key=lambda m: m.id)
    return messages


def _payload(kind: str, payload: str | None, secret: str | None) -> dict[str, Any]:
    """The render context: the stored payload, the secret keys (a one-time code, a new query code)
    kept apart until sent, and no internal comment in notices written before notes were split."""
    context: dict[str, Any] = json.loads(payload or "{}")
    if kind == "notice":
        context.setdefault("public_note", None)
        context.pop("comment", None)
    if secret:
        context.update(json.loads(secret))
    return context


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row; ``record_outcomes`` writes many in one transaction.

    ``next_attempt_at``, ``delivered_at`` and ``provider_ref`` left None keep the stored value;
    ``last_error`` is always written (None clears it). ``unattempt`` gives the claim's attempt back.
    """

    message_id: int
    status: str
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    provider_ref: str | None = None
    unattempt: bool = False


def delivered_outcome(message_id: int, *, provider_ref: str | None, status: str = DELIVERED,
                      now: datetime) -> Outcome:
    """``status`` may stay ``sending`` when a gateway accepted the message and a receipt will follow."""
    if status == DELIVERED:
        return Outcome(message_id, DELIVERED, delivered_at=now, provider_ref=provider_ref)
    if status != SENDING:
        raise ValueError(f"a delivered message is 'delivered' or 'sending', not {status!r}")
    return Outcome(message_id, SENDING, next_attempt_at=AWAITING_RECEIPT, provider_ref=provider_ref)


def failed_outcome(message_id: int, *, status: str, error: str, retry_at: datetime | None = None) -> Outcome:
    """A temporary failure with ``retry_at`` waits for it; without one, or any other status, it is final."""
    if status == TEMPORARY_FAILURE and retry_at is not None:
        return Outcome(message_id, TEMPORARY_FAILURE, last_error=error[:2000], next_attempt_at=retry_at)
    return Outcome(message_id, status if status in FINAL else DEAD, last_error=error[:2000])


def held_outcome(message_id: int, *, until: datetime) -> Outcome:
    return Outcome(message_id, CREATED, next_attempt_at=until, unattempt=True)


# Only the worker holding the lease records an outcome: a worker whose lease expired and was
# re-claimed by another finds nothing to update, and a row awaiting its receipt (no lease) is final.
_RECORD = (
    update(outbox_t)
    .where(outbox_t.c.id == bindparam("_id"), outbox_t.c.status == SENDING,
           outbox_t.c.leased_by == bindparam("_worker"), outbox_t.c.lease_until.is_not(None))
    .values(
        status=bindparam("_status"),
        last_error=bindparam("_last_error"),
        next_attempt_at=func.coalesce(bindparam("_next_attempt_at", type_=outbox_t.c.next_attempt_at.type),
                                      outbox_t.c.next_attempt_at),
        delivered_at=func.coalesce(bindparam("_delivered_at", type_=outbox_t.c.delivered_at.type),
                                   outbox_t.c.delivered_at),
        provider_ref=func.coalesce(bindparam("_provider_ref", type_=outbox_t.c.provider_ref.type),
                                   outbox_t.c.provider_ref),
        attempts=outbox_t.c.attempts - bindparam("_unattempt"),
        # A one-time code or query code is kept only while the message may still be sent.
        secret=case((bindparam("_keep_secret") == 1, outbox_t.c.secret), else_=None),
        lease_until=None,
        updated_at=bindparam("_updated_at", type_=outbox_t.c.updated_at.type),
    )
)


def record_outcomes(rt: Runtime, worker: str, outcomes: Sequence[Outcome],
                    now: datetime | None = None) -> int:
    """Write outcomes of rows this worker holds, in one short transaction; returns how many stuck."""
    if not outcomes:
        return 0
    now = now or rt.now()
    params = [
        {"_id": o.message_id, "_worker": worker, "_status": o.status, "_last_error": o.last_error,
         "_next_attempt_at": o.next_attempt_at, "_delivered_at": o.delivered_at,
         "_provider_ref": o.provider_ref, "_unattempt": 1 if o.unattempt else 0, "_updated_at": now,
         "_keep_secret": 1 if o.unattempt or o.status in (CREATED, TEMPORARY_FAILURE) else 0}
        for o in outcomes
    ]
    with write_connection(rt.engine) as conn, conn.begin():
        # executemany: sqlite3 and psycopg both report the summed row count.
        return conn.execute(_RECORD, params[0] if len(params) == 1 else params).rowcount


def mark_delivered(
    rt: Runtime, message_id: int, worker: str, *, provider_ref: str | None = None,
    status: str = DELIVERED, now: datetime | None = None,
) -> bool:
    """``status`` may stay ``sending`` when a gateway accepted the message and a receipt will follow;
    the lease is cleared either way, so the row is not claimed again."""
    now = now or rt.now()
    outcome = delivered_outcome(message_id, provider_ref=provider_ref, status=status, now=now)
    return record_outcomes(rt, worker, [outcome], now) == 1


def mark_failed(
    rt: Runtime, message_id: int, worker: str, *, status: str, error: str,
    retry_at: datetime | None = None, now: datetime | None = None,
) -> bool:
    """A temporary failure with ``retry_at`` waits for it; without one, or a final status, it stays."""
    outcome = failed_outcome(message_id, status=status, error=error, retry_at=retry_at)
    return record_outcomes(rt, worker, [outcome], now) == 1


def release(rt: Runtime, message_id: int, worker: str, *, until: datetime) -> bool:
    """Give a claimed row back unsent (quiet hours, rate limit): not an attempt."""
    return record_outcomes(rt, worker, [held_outcome(message_id, until=until)]) == 1


RECEIPT_STATUSES = (DELIVERED, PERMANENT_FAILURE)


@dataclass(frozen=True)
class ReceiptResult:
    message_id: int
    idempotency_key: str
    status: str  # the row's status after the receipt
    changed: bool


def record_receipt(
    rt: Runtime, *, channel: str, status: str, idempotency_key: str | None = None,
    provider_ref: str | None = None, error: str | None = None, now: datetime | None = None,
) -> ReceiptResult | None:
    """A provider's delivery receipt for a message of ``channel``, found by key or provider reference.

    ``delivered`` is believed from any state but ``delivered`` (a timed-out send may still have
    arrived, even one already dead-lettered). A failure only finishes a message still ``sending``:
    a receipt never undoes a delivery, and a message we are retrying ourselves keeps its retry.
    None when no such message exists.
    """
    if status not in RECEIPT_STATUSES:
        raise ValueError(f"a receipt is {' or '.join(RECEIPT_STATUSES)}, not {status!r}")
    if not idempotency_key and not provider_ref:
        raise ValueError("a receipt names the message by idempotency key or provider reference")
    now = now or rt.now()
    match = [outbox_t.c.channel == channel]
    if idempotency_key:
        match.append(outbox_t.c.idempotency_key == idempotency_key)
    else:
        match.append(outbox_t.c.provider_ref == provider_ref)
    with write_connection(rt.engine) as conn, conn.begin():
        row = conn.execute(
            select(outbox_t.c.id, outbox_t.c.idempotency_key, outbox_t.c.status).where(*match)
            .order_by(outbox_t.c.id).limit(1)
        ).first()
        if row is None:
            return None
        if status == DELIVERED:
            values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now, "last_error": None}
            allowed = [s for s in STATUSES if s != DELIVERED]
        else:
            reason = error or "the provider reported a failure"
            values = {"status": PERMANENT_FAILURE, "last_error": reason[:2000]}
            allowed = [SENDING]
        if provider_ref:
            values["provider_ref"] = provider_ref
        changed = conn.execute(
            update(outbox_t).where(outbox_t.c.id == row.id, outbox_t.c.status.in_(allowed))
            .values(**values, lease_until=None, updated_at=now)
        ).rowcount == 1
    return ReceiptResult(row.id, row.idempotency_key, values["status"] if changed else row.status, changed)
