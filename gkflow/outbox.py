"""The outbox (发件箱) as a work queue: claim due rows with a lease, then record each outcome.

Claims are atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the claim is one
``UPDATE … RETURNING`` inside a ``BEGIN IMMEDIATE`` transaction. A dispatcher that dies leaves its
rows leased; once the lease expires another dispatcher re-claims them, so nothing is lost. No
database transaction is held open while a message is being sent.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from gkflow.db.models import OutboxRow
from gkflow.runtime import Runtime
from gkflow.services.cases import write_connection

outbox_t = OutboxRow.__table__

# The status vocabulary of the outbox (kept in step with notifications.policy).
CREATED = "created"
SENDING = "sending"
DELIVERED = "delivered"
TEMPORARY_FAILURE = "temporary-failure"
PERMANENT_FAILURE = "permanent-failure"
TECHNICAL_FAILURE = "technical-failure"
DEAD = "dead"
# Rows in these states are waiting for (another) attempt.
PENDING = (CREATED, TEMPORARY_FAILURE)
# Rows in these states are finished.
FINAL = (DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, DEAD)


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


def _due_condition(now: datetime) -> Any:
    """Pending and due, or leased by a dispatcher whose lease has run out."""
    return or_(
        and_(outbox_t.c.status.in_(PENDING), outbox_t.c.next_attempt_at <= now),
        and_(outbox_t.c.status == SENDING, outbox_t.c.lease_until < now),
    )


def due_count(rt: Runtime, *, kind: str = "notice", now: datetime | None = None) -> int:
    """The cheap poll: how many rows could be claimed now (an indexed count, no lock)."""
    now = now or rt.now()
    with rt.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(outbox_t).where(outbox_t.c.kind == kind, _due_condition(now))
        ).scalar_one()


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
        )
    )
    with write_connection(rt) as conn, conn.begin():
        rows = conn.execute(statement).all()
    messages = [
        OutboxMessage(
            id=r.id, case_no=r.case_no, kind=r.kind, topic=r.topic, channel=r.channel,
            recipient=r.recipient, payload=json.loads(r.payload or "{}"),
            idempotency_key=r.idempotency_key, attempts=r.attempts, created_at=r.created_at,
        )
        for r in rows
    ]
    messages.sort(key=lambda m: m.id)
    return messages


def _finish(rt: Runtime, message_id: int, worker: str, values: dict[str, Any]) -> bool:
    """Record an outcome only if this worker still holds the lease (a late worker changes nothing)."""
    with write_connection(rt) as conn, conn.begin():
        return conn.execute(
            update(outbox_t)
            .where(outbox_t.c.id == message_id, outbox_t.c.status == SENDING,
                   outbox_t.c.leased_by == worker)
            .values(**values, lease_until=None)
        ).rowcount == 1


def mark_delivered(
    rt: Runtime, message_id: int, worker: str, *, provider_ref: str | None = None,
    status: str = DELIVERED, now: datetime | None = None,
) -> bool:
    """``status`` may stay ``sending`` when a gateway accepted the message and a receipt will follow;
    the lease is cleared either way."""
    now = now or rt.now()
    values: dict[str, Any] = {"provider_ref": provider_ref, "updated_at": now, "last_error": None}
    if status == DELIVERED:
        values.update(status=DELIVERED, delivered_at=now)
    else:
        values.update(status=status, next_attempt_at=datetime.max.replace(tzinfo=now.tzinfo))
    return _finish(rt, message_id, worker, values)


def mark_failed(
    rt: Runtime, message_id: int, worker: str, *, status: str, error: str,
    retry_at: datetime | None = None, now: datetime | None = None,
) -> bool:
    """A temporary failure with ``retry_at`` waits for it; without one, or a final status, it stays."""
    now = now or rt.now()
    values: dict[str, Any] = {"last_error": error[:2000], "updated_at": now}
    if status == TEMPORARY_FAILURE and retry_at is not None:
        values.update(status=TEMPORARY_FAILURE, next_attempt_at=retry_at)
    else:
        values.update(status=status if status in FINAL else DEAD)
    return _finish(rt, message_id, worker, values)


def release(rt: Runtime, message_id: int, worker: str, *, until: datetime) -> bool:
    """Give a claimed row back unsent (quiet hours, rate limit): not an attempt."""
    return _finish(rt, message_id, worker, {
        "status": CREATED, "next_attempt_at": until, "attempts": outbox_t.c.attempts - 1,
        "updated_at": rt.now(),
    })


def retry_dead(rt: Runtime, message_id: int, *, now: datetime | None = None) -> bool:
    """An administrator's retry of a dead letter: back to pending, due now."""
    now = now or rt.now()
    with write_connection(rt) as conn, conn.begin():
        return conn.execute(
            update(outbox_t)
            .where(outbox_t.c.id == message_id,
                   outbox_t.c.status.in_((DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE)))
            .values(status=CREATED, next_attempt_at=now, lease_until=None, leased_by=None,
                    updated_at=now)
        ).rowcount == 1
