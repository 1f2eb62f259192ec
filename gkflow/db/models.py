"""Tables of the engine core. Datetimes are aware UTC (SQLModel UTCDateTime), shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (SQLModel sets ``__table__`` without declaring it)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ItemVersionRow(SQLModel, table=True):
    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True)
    version: int
    effective_from: date
    name: str
    department: str
    definition: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    content_hash: str
    loaded_at: datetime


class CaseRow(SQLModel, table=True):
    __tablename__ = "cases"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    case_no: str = Field(unique=True)
    query_hash: str
    item_code: str
    item_version: int
    department: str
    # 承办单位: set by a transition's `assignee` field (e.g. 12345 派单); may act besides `department`.
    assigned_department: str | None = None
    state: str
    version: int = 1
    applicant_name: str
    applicant_phone: str | None = None
    applicant_id_number: str | None = None
    applicant_email: str | None = None
    applicant_wechat: str | None = None
    intake_channel: str = "window"
    # Online cases notify only verified numbers; NULL on cases older than phone verification.
    phone_verified: bool | None = None
    fields: str = "{}"  # JSON: the submission's form fields
    received_at: datetime
    received_on: date  # local (Asia/Shanghai) date of receipt; counting starts the day after
    # The clocks (时限): both limits keep their own anchor/used in their own unit.
    clock_running: bool = True
    statutory_days: int
    statutory_anchor: date
    statutory_used: int = 0
    promised_days: int
    promised_anchor: date
    promised_used: int = 0
    extended: bool = False
    statutory_due: date | None = None
    statutory_due_provisional: bool = False
    promised_due: date | None = None
    promised_due_provisional: bool = False
    step_entered_on: date
    step_due: date | None = None
    step_due_provisional: bool = False
    step_seq: int = 1  # seq of the event that entered the current state
    last_seq: int = 1
    last_hash: str
    closed_at: datetime | None = None
    updated_at: datetime

    __table_args__ = (
        Index("ix_cases_department_open", "department", "closed_at"),
        Index("ix_cases_item_state", "item_code", "state"),
        Index("ix_cases_promised_due_open", "closed_at", "promised_due"),
        # The worklist's tabs and orders (gkflow.services.case_search): by department, and by the
        # 承办 department a case was assigned to; open cases by promised due date, all by receipt.
        Index("ix_cases_department_due", "department", "closed_at", "promised_due", "id"),
        # Partial: most cases are never assigned, and a full index would make the planner think
        # "assigned_department = ?" matches them all (it then scans the table).
        Index("ix_cases_assigned", "assigned_department", "closed_at", "promised_due",
              sqlite_where=text("assigned_department IS NOT NULL"),
              postgresql_where=text("assigned_department IS NOT NULL")),
        Index("ix_cases_department_received", "department", "received_at", "id"),
        Index("ix_cases_received", "received_at", "id"),
        Index("ix_cases_closed", "closed_at", "id"),
    )


class EventRow(SQLModel, table=True):
    """办理记录: append-only (database triggers refuse UPDATE and DELETE), hash-chained per case."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    case_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    seq: int
    action: str
    from_state: str | None = None
    to_state: str
    actor: str
    role: str
    at: datetime
    comment: str | None = None  # internal note (内部意见), staff only
    fields: str = "{}"  # JSON
    prev_hash: str
    hash: str  # the MAC (or, for chain_alg NULL, the unkeyed SHA-256) sealing the event
    # NULL: the unkeyed SHA-256 chain written before keys; "hmac-sm3": keyed (gkflow.domain.events).
    chain_alg: str | None = None
    key_id: str | None = None  # which chain key sealed it (keys rotate)
    # A back-dated step (补录: window staff entering a paper record): when it was entered, and why.
    recorded_at: datetime | None = None
    backdate_reason: str | None = None
    public_note: str | None = None  # note to the applicant (对申请人说明): status page and notices
    # The query code's hash as this event set it (submission, 找回查询码); the audit compares the
    # case row's hash with the latest one.
    query_hash: str | None = None


class OutboxRow(SQLModel, table=True):
    """发件箱: notices and triggers written in the transition's own transaction."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    created_at: datetime
    case_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    case_no: str | None = None
    event_seq: int | None = None
    kind: str  # notice | trigger
    topic: str  # notice template name or trigger name
    channel: str | None = None  # sms, email, wechat, webhook, sandbox (notices only)
    recipient: str | None = None
    payload: str = "{}"  # JSON: render context or trigger parameters
    # JSON of context keys that must not outlive the send (a one-time code, a new query code):
    # merged into the payload when rendering, cleared once the message is sent or given up.
    secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    idempotency_key: str = Field(unique=True)
    status: str = "created"
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    leased_by: str | None = None
    last_error: str | None = None
    provider_ref: str | None = None
    delivered_at: datetime | None = None
    retry_from: datetime | None = None  # an administrator retried it: the retry horizon restarts here
    updated_at: datetime


class CaseWarningRow(SQLModel, table=True):
    """One row per raised warning (红黄牌), so each is signalled exactly once."""

    __tablename__ = "case_warnings"
    __table_args__ = (UniqueConstraint("case_id", "scope", "level", "step_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    scope: str  # case | step
    level: str  # yellow | red
    step_seq: int = 0  # for step warnings, the event that entered the step
    due_on: date
    raised_at: datetime


class CaseSearchTermRow(SQLModel, table=True):
    """One short term a case is found by (gkflow.domain.search): parts of its number and applicant's
    name, the phone's last four digits. Written with the case, never updated."""

    __tablename__ = "case_search_terms"
    # SQLite: the primary key is the table (no rowid), so a look-up is one B-tree range.
    __table_args__ = ({"sqlite_with_rowid": False},)

    term: str = Field(primary_key=True)
    case_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class SchedulerRunRow(SQLModel, table=True):
    """One run of an embedded scheduler job worth showing: every publication run, and maintenance
    polls that did something or failed (an idle poll every few seconds is not recorded)."""

    __tablename__ = "scheduler_runs"
    __table_args__ = (Index("ix_scheduler_runs_started", "started_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    job_id: str
    scheduled_at: datetime | None = None
    started_at: datetime
    finished_at: datetime
    state: str  # completed | failed
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
