"""The publication ledger (公开台账): one row per attempt to publish one period of one task."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from gkflow.db.models import BigId


class PublicationRow(SQLModel, table=True):
    """A version of one period's publication; a re-run with changed data is the next version and
    marks the previous one superseded, so a correction stays visible."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("task", "subject", "period", "version"),
        Index("ix_publications_period", "task", "subject", "period"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    task: str  # publication task (主动公开任务), e.g. fiscal-monthly
    subject: str = ""  # e.g. the construction project code; "" for tasks with one subject
    period: str  # YYYY-MM, YYYY-Qn, YYYY, or YYYY-MM-DD for a milestone
    version: int
    status: str  # published | failed | superseded
    formed_on: date
    due_on: date
    due_provisional: bool = False
    started_at: datetime
    published_at: datetime | None = None
    content_hash: str | None = None
    receipts: str = "{}"  # JSON: target name -> receipt
    reasons: str = "[]"  # JSON: why a failed run published nothing
    source: str | None = None
    trigger: str = "manual"  # manual | schedule | backfill | catch-up | milestone
    flow_run_id: str | None = None
    department: str
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # JSON
