"""The administrator's side of the outbox (发件箱): list its rows, send dead letters back to the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from gkflow.db.engine import write_connection
from gkflow.delivery.outbox import (
    CREATED,
    DEAD,
    PERMANENT_FAILURE,
    STATUSES,
    TECHNICAL_FAILURE,
    outbox_t,
)
from gkflow.runtime import Runtime


def retry_dead(rt: Runtime, message_id: int, *, now: datetime | None = None) -> bool:
    """An administrator's retry of a dead letter: back to pending, due now, with a fresh retry
    horizon (else a dead letter older than the horizon would get exactly one more attempt)."""
    now = now or rt.now()
    with write_connection(rt.engine) as conn, conn.begin():
        return conn.execute(
            update(outbox_t)
            .where(outbox_t.c.id == message_id,
                   outbox_t.c.status.in_((DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE)))
            .values(status=CREATED, next_attempt_at=now, lease_until=None, leased_by=None,
                    retry_from=now, attempts=0, updated_at=now)
        ).rowcount == 1


def list_messages(
    rt: Runtime, *, status: str | None = None, case_no: str | None = None, kind: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest outbox rows first (for `gkflow outbox list` and the admin pages)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    query = select(
        outbox_t.c.id, outbox_t.c.case_no, outbox_t.c.kind, outbox_t.c.topic, outbox_t.c.channel,
        outbox_t.c.recipient, outbox_t.c.status, outbox_t.c.attempts, outbox_t.c.next_attempt_at,
        outbox_t.c.lease_until, outbox_t.c.last_error, outbox_t.c.provider_ref, outbox_t.c.delivered_at,
        outbox_t.c.created_at, outbox_t.c.updated_at, outbox_t.c.idempotency_key,
    ).order_by(outbox_t.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(outbox_t.c.status == status)
    if case_no is not None:
        query = query.where(outbox_t.c.case_no == case_no)
    if kind is not None:
        query = query.where(outbox_t.c.kind == kind)
    with rt.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def retry_all_dead(rt: Runtime, *, now: datetime | None = None) -> int:
    """`retry_dead` for every dead letter at once; returns how many went back to the queue."""
    now = now or rt.now()
    with write_connection(rt.engine) as conn, conn.begin():
        return int(conn.execute(
            update(outbox_t)
            .where(outbox_t.c.status.in_((DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE)))
            .values(status=CREATED, next_attempt_at=now, lease_until=None, leased_by=None,
                    retry_from=now, attempts=0, updated_at=now)
        ).rowcount)
