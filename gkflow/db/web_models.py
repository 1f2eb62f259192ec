"""Tables of the web part: staff accounts, sessions, API tokens, ratings, rectifications, rate limits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel


class UserRow(SQLModel, table=True):
    """A staff account stored in the database; it overrides a config/accounts.yaml entry of that name."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True)
    display_name: str
    password_hash: str
    roles: str  # comma-separated
    department: str | None = None
    active: bool = True
    created_at: datetime
    updated_at: datetime


class WebSessionRow(SQLModel, table=True):
    """A login session; the cookie carries the token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    username: str = Field(index=True)
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class ApiTokenRow(SQLModel, table=True):
    """A per-user bearer token for the staff API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    username: str = Field(index=True)
    label: str = ""
    created_at: datetime
    revoked_at: datetime | None = None


class RatingRow(SQLModel, table=True):
    """好差评: one per case (一事一评)."""

    __tablename__ = "ratings"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    case_no: str = Field(index=True)  # the public status page looks ratings up by case number
    item_code: str
    department: str  # the handling department (承办单位 when the case was assigned)
    level: int  # 5 非常满意 … 1 非常不满意
    bad: bool
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    rated_at: datetime

    __table_args__ = (Index("ix_ratings_rated_at", "rated_at"),)


class RectificationRow(SQLModel, table=True):
    """整改: a bad rating's follow-up by the department that handled the case."""

    __tablename__ = "rectifications"

    id: int | None = Field(default=None, primary_key=True)
    rating_id: int = Field(unique=True)
    case_no: str
    department: str = Field(index=True)
    opened_at: datetime
    due_on: date
    due_provisional: bool = False
    status: str = "open"  # open | closed
    closed_at: datetime | None = None
    closed_by: str | None = None
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AttemptRow(SQLModel, table=True):
    """Recent failures of one key (a client address, an account, a case number) at log-in or look-up,
    shared by every web process; the key is stored only as a SHA-256 (no addresses, no case numbers).
    Replaces the per-client ``lookup_failures`` windows (that table, if present, is no longer used)."""

    __tablename__ = "attempt_limits"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(unique=True)
    failures: int = 0
    last_failure_at: datetime = Field(index=True)
    blocked_until: datetime | None = None


class HotlineOrderRow(SQLModel, table=True):
    """12345 work orders taken in: a platform retry of the same order finds its case again."""

    __tablename__ = "hotline_orders"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(unique=True)
    case_no: str
    received_at: datetime


class WindowRegistrationRow(SQLModel, table=True):
    """The one-time token of a window registration form and the case it created, so a reload, the
    back button or a double click answers with that case instead of registering a second one.
    Only a hash of the token is kept: the query code is derived from the token itself."""

    __tablename__ = "window_registrations"

    token_hash: str = Field(primary_key=True)
    case_no: str = Field(index=True)
    username: str
    materials: str = "[]"  # JSON: the names of the materials the clerk ticked as received
    created_at: datetime
