"""Staff login sessions (cookie tokens with a CSRF secret) and per-user API bearer tokens.

Only SHA-256 hashes of tokens are stored; a disabled account's sessions and tokens stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from gkflow.db.account_rows import token_owner
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import ApiTokenRow, WebSessionRow
from gkflow.domain.errors import NotFound
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account, get_account, stored_or_configured

SESSION_LIFETIME = timedelta(hours=8)

sessions_t = table_of(WebSessionRow)
tokens_t = table_of(ApiTokenRow)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    token_hash: str


def open_session(rt: Runtime, account: Account) -> tuple[str, Session]:
    """A new login session for ``account``: its cookie token and the session."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = rt.now()
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(sessions_t.delete().where(sessions_t.c.expires_at < now))
        conn.execute(
            sessions_t.insert().values(
                token_hash=_token_hash(token),
                username=account.username,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token, Session(account, csrf, _token_hash(token))


def load_session(rt: Runtime, token: str | None) -> Session | None:
    """The live session of a cookie token, or None (expired, unknown, or account disabled)."""
    if not token:
        return None
    digest = _token_hash(token)
    with rt.engine.connect() as conn:
        row = conn.execute(
            select(sessions_t).where(sessions_t.c.token_hash == digest, sessions_t.c.expires_at > rt.now())
        ).first()
    if row is None:
        return None
    account = get_account(rt, row.username)
    if account is None or not account.active:
        return None
    return Session(account, row.csrf_token, digest)


def close_session(rt: Runtime, session: Session) -> None:
    """End a session (logout)."""
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(sessions_t.delete().where(sessions_t.c.token_hash == session.token_hash))


# -- API tokens ---------------------------------------------------------------------------------


def issue_token(rt: Runtime, username: str, label: str = "") -> str:
    """A new API bearer token for an active account (shown once; only its hash is stored)."""
    account = get_account(rt, username)
    if account is None or not account.active:
        raise NotFound(f"no active account '{username}'")
    token = "gk_" + secrets.token_urlsafe(32)
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(
            tokens_t.insert().values(
                token_hash=_token_hash(token), username=username, label=label, created_at=rt.now()
            )
        )
    return token


def revoke_tokens(rt: Runtime, username: str) -> int:
    """Revoke every API token of ``username``; how many."""
    with write_connection(rt.engine) as conn, conn.begin():
        return conn.execute(
            tokens_t.update()
            .where(tokens_t.c.username == username, tokens_t.c.revoked_at.is_(None))
            .values(revoked_at=rt.now())
        ).rowcount


def account_for_token(rt: Runtime, token: str) -> Account | None:
    """The active account of an unrevoked bearer token, or None."""
    # One statement for the token and its stored account: the staff API checks one per request.
    with rt.read_engine.connect() as conn:
        owner = token_owner(conn, _token_hash(token))
    if owner is None:
        return None
    account = stored_or_configured(rt, *owner)
    return account if account is not None and account.active else None


