"""Keys made once, kept in the database so that every web process shares them, and what they sign:
short-lived look-up cookies and the hashes of one-time codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from gkflow.db.door_models import SigningKeyRow
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.runtime import Runtime

keys_t = table_of(SigningKeyRow)


@lru_cache(maxsize=64)
def _key(engine: Engine, name: str) -> bytes:
    with engine.connect() as conn:
        secret = conn.execute(select(keys_t.c.secret).where(keys_t.c.name == name)).scalar()
    if secret is None:
        from datetime import UTC, datetime

        try:
            with write_connection(engine) as conn, conn.begin():
                conn.execute(keys_t.insert().values(name=name, secret=secrets.token_hex(32),
                                                    created_at=datetime.now(UTC)))
        except IntegrityError:  # another process made it first: use theirs
            pass
        with engine.connect() as conn:
            secret = conn.execute(select(keys_t.c.secret).where(keys_t.c.name == name)).scalar_one()
    return bytes.fromhex(secret)


def ensure_key(rt: Runtime, name: str) -> None:
    """Make the key ``name`` now, outside any write transaction (SQLite has one writer at a time)."""
    _key(rt.engine, name)


def keyed_hash(rt: Runtime, name: str, text: str) -> str:
    """HMAC-SHA256 of ``text`` under the key ``name`` (hex)."""
    return hmac.new(_key(rt.engine, name), text.encode(), hashlib.sha256).hexdigest()


def sign(rt: Runtime, name: str, text: str) -> str:
    """``text`` with a signature: text.signature (URL-safe)."""
    mac = hmac.new(_key(rt.engine, name), text.encode(), hashlib.sha256).digest()
    return f"{text}.{base64.urlsafe_b64encode(mac[:18]).decode()}"


def unsign(rt: Runtime, name: str, signed: str) -> str | None:
    """The text of a value made by ``sign``, or None if the signature does not match."""
    text, _, _mac = signed.rpartition(".")
    if not text:
        return None
    return text if hmac.compare_digest(sign(rt, name, text), signed) else None
