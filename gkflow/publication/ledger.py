"""The publication ledger (公开台账): versions of each period, failures with reasons, punctuality."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from gkflow.db.engine import write_connection
from gkflow.db.models import OutboxRow, table_of
from gkflow.db.publication_models import PublicationRow
from gkflow.domain.errors import Conflict
from gkflow.runtime import Runtime

ledger_t = table_of(PublicationRow)
outbox_t = table_of(OutboxRow)

PUBLISHING, PUBLISHED, FAILED, SUPERSEDED, DUE = "publishing", "published", "failed", "superseded", "due"
FAILURE_TOPIC = "publication_failed"


def _key(task: str, subject: str, period: str) -> Any:
    return (ledger_t.c.task == task) & (ledger_t.c.subject == subject) & (ledger_t.c.period == period)


def latest_published(rt: Runtime, task: str, subject: str, period: str) -> dict[str, Any] | None:
    with rt.engine.connect() as conn:
        row = conn.execute(
            select(ledger_t).where(_key(task, subject, period), ledger_t.c.status == PUBLISHED)
            .order_by(ledger_t.c.version.desc()).limit(1)
        ).mappings().first()
    return dict(row) if row else None


def edition(rt: Runtime, task: str, subject: str, period: str) -> int:
    """The edition the next publication of a period will be (第N版): failed attempts also take
    ledger version numbers, but only what was actually published counts for the public."""
    with rt.engine.connect() as conn:
        published = conn.execute(
            select(func.count()).select_from(ledger_t)
            .where(_key(task, subject, period), ledger_t.c.status.in_((PUBLISHED, SUPERSEDED)))
        ).scalar_one()
    return published + 1


def _insert_next(conn: Connection, values: dict[str, Any]) -> tuple[int, int]:
    version = conn.execute(
        select(func.coalesce(func.max(ledger_t.c.version), 0))
        .where(_key(values["task"], values["subject"], values["period"]))
    ).scalar_one() + 1
    row_id = conn.execute(
        ledger_t.insert().values(**values, version=version).returning(ledger_t.c.id)
    ).scalar_one()
    return row_id, version


def _with_next_version(rt: Runtime, values: dict[str, Any],
                       extra: Any = None) -> tuple[int, int]:
    """Insert a row as the next version; a concurrent writer taking the same number makes us retry."""
    for _attempt in range(5):
        try:
            with write_connection(rt.engine) as conn, conn.begin():
                row_id, version = _insert_next(conn, values)
                if extra is not None:
                    extra(conn, version)
                return row_id, version
        except IntegrityError as exc:
            if "publications" not in str(exc.orig).lower() and "version" not in str(exc.orig).lower():
                raise
    raise Conflict(f"could not record {values['task']} {values['period']}: too many concurrent runs")


def reserve(rt: Runtime, values: dict[str, Any]) -> tuple[int, int]:
    """A ``publishing`` row claims the next version number before anything is written out."""
    return _with_next_version(rt, {**values, "status": PUBLISHING})


def finish_published(rt: Runtime, row_id: int, *, task: str, subject: str, period: str,
                     content_hash: str, receipts: Mapping[str, Any], now: datetime) -> None:
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(
            update(ledger_t).where(_key(task, subject, period), ledger_t.c.status == PUBLISHED,
                                   ledger_t.c.id != row_id)
            .values(status=SUPERSEDED)
        )
        conn.execute(update(ledger_t).where(ledger_t.c.id == row_id).values(
            status=PUBLISHED, published_at=now, content_hash=content_hash,
            receipts=json.dumps(receipts, ensure_ascii=False, default=str),
        ))


def _notice_rows(values: Mapping[str, Any], version: int, reasons: list[str], channel: str,
                 recipient: str, payload: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "created_at": now, "case_id": None, "case_no": None, "event_seq": None, "kind": "notice",
        "topic": FAILURE_TOPIC, "channel": channel, "recipient": recipient,
        "payload": json.dumps({**payload, "version": version, "reasons": reasons,
                               "reasons_text": "；".join(reasons)}, ensure_ascii=False, default=str),
        "idempotency_key": f"publication/{values['task']}/{values['subject']}/{values['period']}"
                           f"/v{version}/failed",
        "status": "created", "attempts": 0, "next_attempt_at": now, "updated_at": now,
    }


def record_failed(rt: Runtime, values: dict[str, Any], reasons: list[str], *, channel: str,
                  recipient: str, payload: Mapping[str, Any], now: datetime,
                  row_id: int | None = None, receipts: Mapping[str, Any] | None = None) -> int:
    """The failed row and the department's notice commit together (or neither does)."""
    reasons_json = json.dumps(reasons, ensure_ascii=False)
    receipts_json = json.dumps(receipts or {}, ensure_ascii=False, default=str)
    if row_id is None:
        def notify(conn: Connection, version: int) -> None:
            conn.execute(outbox_t.insert().values(
                **_notice_rows(values, version, reasons, channel, recipient, payload, now)))

        _row, version = _with_next_version(
            rt, {**values, "status": FAILED, "reasons": reasons_json, "receipts": receipts_json}, notify)
        return version
    with write_connection(rt.engine) as conn, conn.begin():
        version = int(conn.execute(select(ledger_t.c.version).where(ledger_t.c.id == row_id)).scalar_one())
        conn.execute(update(ledger_t).where(ledger_t.c.id == row_id).values(
            status=FAILED, reasons=reasons_json, receipts=receipts_json))
        conn.execute(outbox_t.insert().values(
            **_notice_rows(values, version, reasons, channel, recipient, payload, now)))
    return version


def rows(rt: Runtime, task: str | None = None) -> list[dict[str, Any]]:
    query = select(ledger_t).order_by(ledger_t.c.task, ledger_t.c.subject, ledger_t.c.period,
                                      ledger_t.c.version)
    if task:
        query = query.where(ledger_t.c.task == task)
    with rt.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def published_on(rt: Runtime, published_at: datetime | None) -> date | None:
    if published_at is None:
        return None
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    return rt.local_date(published_at)
