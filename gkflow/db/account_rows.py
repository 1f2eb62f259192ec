"""Hot reads of staff identity: a bearer token with the stored account it belongs to, in one
hand-written statement (the staff API checks one on every request)."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import Connection

from gkflow.db.fastsql import FastSQL

USER_COLUMNS = ("id", "username", "display_name", "password_hash", "roles", "department", "active")
_TOKEN_ACCOUNT = (
    f"SELECT t.username, {', '.join('u.' + c for c in USER_COLUMNS)} FROM api_tokens t"
    " LEFT JOIN users u ON u.username = t.username"
    " WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL"
)


def token_owner(conn: Connection, token_hash: str) -> tuple[str, SimpleNamespace | None] | None:
    """(username, its `users` row or None) for an unrevoked token's hash, or None."""
    with FastSQL(conn) as db:
        rows = db.fetch_all(_TOKEN_ACCOUNT, {"token_hash": token_hash})
    if not rows:
        return None
    username, *user = rows[0]
    return username, (SimpleNamespace(**dict(zip(USER_COLUMNS, user, strict=True))) if user[0] is not None
                      else None)
