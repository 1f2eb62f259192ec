"""Tables of the applicant's front door: phone verifications, shared rate counters, materials handed
in online, application drafts between "check your answers" and submission, and signing keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PhoneVerificationRow(SQLModel, table=True):
    """A one-time code sent to a phone (短信验证码); only hashes of the code and the token are kept."""

    __tablename__ = "phone_verifications"
    __table_args__ = (Index("ix_phone_verifications_phone", "phone", "purpose", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str
    purpose: str  # "apply", or "recover:<case_no>"
    client: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0  # wrong codes so far
    confirmed_at: datetime | None = None
    token_hash: str | None = Field(default=None, unique=True)
    token_expires_at: datetime | None = None
    used_at: datetime | None = None  # the token was spent on a submission


class RateCounterRow(SQLModel, table=True):
    """Requests per (scope, key) in a fixed window, shared by every web process."""

    __tablename__ = "rate_counters"
    __table_args__ = (UniqueConstraint("scope", "key", "window_start"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str
    key: str
    window_start: datetime
    count: int = 0


class CaseMaterialRow(SQLModel, table=True):
    """A file handed in for a declared material; the bytes live in content-addressed storage."""

    __tablename__ = "case_materials"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    event_seq: int  # the event that recorded it in the case's hash chain
    material: str  # the declared material's name
    sha256: str = Field(index=True)
    size: int
    media_type: str
    filename: str
    uploaded_at: datetime
    uploaded_by: str  # applicant, or the staff member's user name


class ApplicationDraftRow(SQLModel, table=True):
    """An online application checked but not yet submitted (GOV.UK's "check your answers")."""

    __tablename__ = "application_drafts"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    item_code: str
    item_version: int
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON: applicant and fields
    files: str = Field(sa_column=Column(Text, nullable=False))  # JSON: [{material, sha256, size, …}]
    client: str
    created_at: datetime
    expires_at: datetime = Field(index=True)


class SigningKeyRow(SQLModel, table=True):
    """Random keys made once and shared by every process (look-up cookies, one-time code hashes)."""

    __tablename__ = "signing_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    secret: str
    created_at: datetime
