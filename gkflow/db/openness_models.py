"""Tables of the openness directory's ledger (公开台账 of 政务公开事项标准目录) and of the department
scorecard's manual entries (考核评分记录, append-only and hash-chained like case history)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from gkflow.db.models import BigId


class OpennessRow(SQLModel, table=True):
    """One publication a directory entry owes: a period, an event (a licence decision) or a change.

    Periodic rows of entries without an automated source are written when the department records
    where and when it published; event rows are opened by their trigger and closed by publication."""

    __tablename__ = "openness_ledger"
    __table_args__ = (
        UniqueConstraint("entry", "subject"),
        Index("ix_openness_ledger_department_due", "department", "due_on"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    entry: str  # directory entry code
    entry_version: int
    department: str
    kind: str  # periodic | event | change
    subject: str  # a period (2026-11, 2026-Q4, 2026), a case number, or the department's own label
    title: str = ""  # what was published, in words
    formed_on: date  # the day the information was formed (period end, decision, change)
    due_on: date
    due_provisional: bool = False
    status: str = "open"  # open | published
    opened_at: datetime
    opened_by: str
    case_no: str | None = None  # the case whose transition opened it
    published_on: date | None = None  # local date of publication
    published_at: datetime | None = None
    url: str | None = None
    evidence_name: str | None = None
    evidence_sha256: str | None = None
    recorded_by: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # JSON, public


class ScorecardEntryRow(SQLModel, table=True):
    """An administrator's score for an annex item, a bonus or a deduction, with reason and evidence.

    Append-only (database triggers refuse UPDATE and DELETE) and hash-chained per department with
    ``gkflow.domain.events``, like a case's history; a later entry for the same item and period
    replaces the earlier one in the score, and both stay on record."""

    __tablename__ = "scorecard_entries"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_scorecard_entries_period", "period", "chain"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    chain: str  # the department
    seq: int
    period: str  # 2026-11, 2026-Q4 or 2026
    kind: str  # manual | bonus | deduction
    item: str = ""  # the annex item code of a manual score
    points: str  # a decimal, as text so the hash reads what was written
    reason: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence_name: str | None = None
    evidence_sha256: str | None = None
    actor: str
    at: datetime
    # The keyed chain (decision 24): the algorithm and the key that sealed this entry.
    chain_alg: str | None = None
    key_id: str | None = None
    prev_hash: str
    hash: str
