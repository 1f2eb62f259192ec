"""Staff accounts and password hashing (Argon2id); sessions and tokens are gkflow.services.sessions.

Accounts come from ``config/accounts.yaml`` and from the ``users`` table; a table row of the same
name overrides the file (a changed password or a disabled demo account). Demo accounts are marked
``demo: true`` in the file. Their published password (gkflow.services.passwords) logs in only from a
loopback address, nobody can set it, and ``gkflow serve`` refuses a non-loopback address while any
active account's stored hash still matches it (see :func:`refuse_demo_accounts_off_loopback`).
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import inspect, select

from gkflow.config.files import read_mapping
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import ApiTokenRow, UserRow, WebSessionRow
from gkflow.domain.access import ADMIN_ROLE, NON_STAFF_ROLES, REGISTERING_ROLES, is_admin
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Forbidden, InvalidConfig, InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.passwords import DEMO_PASSWORDS, check_new_password, is_demo_password, is_loopback

ACCOUNTS_FILE = "accounts.yaml"

users_t = table_of(UserRow)
sessions_t = table_of(WebSessionRow)
tokens_t = table_of(ApiTokenRow)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown user as slow as one for a known user.
    Made on first use: an Argon2id hash costs tens of ms, which no importer should pay."""
    return _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    roles: tuple[str, ...]
    department: str | None
    password_hash: str
    active: bool = True
    demo: bool = False
    source: str = "config"  # config | database

    @property
    def is_admin(self) -> bool:
        return is_admin(self)

    def actor_for(self, allowed_roles: tuple[str, ...] | list[str]) -> Actor:
        """The Actor to fire with: the first of the user's roles the transition allows."""
        role = next((r for r in self.roles if r in allowed_roles), self.roles[0] if self.roles else "")
        return Actor(self.username, role, self.department)


def hash_password(password: str, *, username: str | None = None, display_name: str | None = None) -> str:
    """The Argon2id hash of a password a person sets (InvalidInput if the policy refuses it)."""
    check_new_password(password, username=username, display_name=display_name)
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- accounts -----------------------------------------------------------------------------------

_config_cache: dict[str, tuple[tuple[int, int] | None, dict[str, Account]]] = {}
_config_lock = threading.Lock()


def config_accounts(config_dir: Path) -> dict[str, Account]:
    """The accounts of config/accounts.yaml (none if the file is absent); cached by mtime."""
    path = os.path.abspath(os.path.join(config_dir, ACCOUNTS_FILE))
    try:
        st = os.stat(path)
        version: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        version = None
    with _config_lock:
        hit = _config_cache.get(path)
        if hit and hit[0] == version:
            return hit[1]
    accounts = {} if version is None else _parse_accounts(path)
    with _config_lock:
        _config_cache[path] = (version, accounts)
    return accounts


def _parse_accounts(path: str) -> dict[str, Account]:
    data = read_mapping(path)
    accounts: dict[str, Account] = {}
    for i, entry in enumerate(data.get("accounts") or []):
        where = f"{path}: accounts[{i}]"
        if not isinstance(entry, dict) or not entry.get("username") or not entry.get("password_hash"):
            raise InvalidConfig(f"{where}: needs at least username and password_hash")
        roles = tuple(str(r) for r in entry.get("roles") or ())
        if not roles or any(r in NON_STAFF_ROLES for r in roles):
            raise InvalidConfig(f"{where}: needs staff roles (not {', '.join(sorted(NON_STAFF_ROLES))})")
        accounts[entry["username"]] = Account(
            username=str(entry["username"]),
            display_name=str(entry.get("name") or entry["username"]),
            roles=roles,
            department=entry.get("department"),
            password_hash=str(entry["password_hash"]),
            active=bool(entry.get("active", True)),
            demo=bool(entry.get("demo", False)),
        )
    return accounts


def _account_from_row(row: Any) -> Account:
    return Account(
        username=row.username,
        display_name=row.display_name,
        roles=tuple(r for r in row.roles.split(",") if r),
        department=row.department,
        password_hash=row.password_hash,
        active=bool(row.active),
        source="database",
    )


def _users_table_exists(rt: Runtime) -> bool:
    return inspect(rt.engine).has_table("users")


def stored_or_configured(rt: Runtime, username: str, row: Any | None) -> Account | None:
    """The account ``username`` from its `users` row when there is one, else from accounts.yaml."""
    if row is not None:
        return _account_from_row(row)
    return config_accounts(rt.settings.config_dir).get(username)


def get_account(rt: Runtime, username: str) -> Account | None:
    """The account ``username``: its database row, else its entry in accounts.yaml."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(users_t).where(users_t.c.username == username)).first()
    if row is not None:
        return _account_from_row(row)
    return config_accounts(rt.settings.config_dir).get(username)


def list_accounts(rt: Runtime) -> list[Account]:
    """Every account, file and database merged (a database row overrides the file)."""
    merged = dict(config_accounts(rt.settings.config_dir))
    with rt.engine.connect() as conn:
        for row in conn.execute(select(users_t)):
            merged[row.username] = _account_from_row(row)
    return sorted(merged.values(), key=lambda a: a.username)


def authenticate(rt: Runtime, username: str, password: str, *, client: str | None = None) -> Account | None:
    """The account whose password this is, or None. A published demo password is Forbidden unless
    ``client`` (the caller's address) is this machine."""
    account = get_account(rt, username.strip())
    if account is None or not account.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(account.password_hash, password):
        return None
    if is_demo_password(password) and not is_loopback(client):
        raise Forbidden("演示账号只能在本机（127.0.0.1）登录；请使用管理员为您设置的账号和密码。")
    return account


def active_demo_accounts(rt: Runtime) -> list[str]:
    """Demo accounts from the file that no database row has overridden (disabled or re-passworded)."""
    demo = [a.username for a in config_accounts(rt.settings.config_dir).values() if a.demo and a.active]
    if not demo or not _users_table_exists(rt):
        return demo
    with rt.engine.connect() as conn:
        overridden = set(
            conn.execute(select(users_t.c.username).where(users_t.c.username.in_(demo))).scalars()
        )
    return [u for u in demo if u not in overridden]


def known_staff_roles(rt: Runtime) -> set[str]:
    """The roles a staff account may hold: every role a transition of the catalogue names, plus admin
    and the registering roles (never applicant or system)."""
    roles = {ADMIN_ROLE, *REGISTERING_ROLES}
    for versions in rt.catalogue.versions.values():
        for item in versions:
            for transition in item.transitions.values():
                roles.update(transition.roles)
    return roles - NON_STAFF_ROLES


def save_user(
    rt: Runtime,
    username: str,
    *,
    password: str | None,
    roles: tuple[str, ...] | None = None,
    department: str | None = None,
    display_name: str | None = None,
    active: bool = True,
) -> Account:
    """Create or update the database account ``username`` (inheriting unset values from the file)."""
    if not username or not username.strip():
        raise InvalidInput("a username is required", fields=["username"])
    now = rt.now()
    base = get_account(rt, username)
    new_roles = roles
    roles = roles or (base.roles if base else None)
    if not roles or any(not r or r in NON_STAFF_ROLES for r in roles):
        raise InvalidInput(
            f"staff roles are required (not {', '.join(sorted(NON_STAFF_ROLES))})", fields=["roles"]
        )
    if new_roles:
        known = known_staff_roles(rt)
        unknown = sorted(set(new_roles) - known)
        if unknown:
            raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                               fields=["roles"])
    if password is not None:
        password_hash = hash_password(password, username=username,
                                      display_name=display_name or (base.display_name if base else None))
    elif base is not None:
        # A disabled account keeps no usable password; a re-enabled one needs a new one.
        password_hash = base.password_hash if active and base.source == "database" else "!disabled"
    else:
        raise InvalidInput("a new account needs a password", fields=["password"])
    values = {
        "display_name": display_name or (base.display_name if base else username),
        "password_hash": password_hash,
        "roles": ",".join(roles),
        "department": department if department is not None else (base.department if base else None),
        "active": active,
        "updated_at": now,
    }
    with write_connection(rt.engine) as conn, conn.begin():
        exists = conn.execute(select(users_t.c.id).where(users_t.c.username == username)).first()
        if exists:
            conn.execute(users_t.update().where(users_t.c.username == username).values(**values))
        else:
            conn.execute(users_t.insert().values(username=username, created_at=now, **values))
        if not active or password is not None:
            conn.execute(sessions_t.delete().where(sessions_t.c.username == username))
        if not active:
            conn.execute(
                tokens_t.update()
                .where(tokens_t.c.username == username, tokens_t.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
    account = get_account(rt, username)
    assert account is not None
    return account


def disable_demo_accounts(rt: Runtime) -> list[str]:
    """Disable every demo account still active; their usernames."""
    disabled = active_demo_accounts(rt)
    for username in disabled:
        save_user(rt, username, password=None, active=False)
    return disabled


def accounts_with_demo_password(rt: Runtime) -> list[str]:
    """Active accounts (file or database) whose stored hash matches a published demo password."""
    return [a.username for a in list_accounts(rt)
            if a.active and any(_verify(a.password_hash, p) for p in DEMO_PASSWORDS)]


def refuse_demo_accounts_off_loopback(rt: Runtime, host: str) -> None:
    """`gkflow serve` on a non-loopback address is refused while any active account's stored hash
    still matches a published demo password (checked against the hashes, not the demo flag)."""
    if is_loopback(host):
        return
    demo = accounts_with_demo_password(rt)
    if demo:
        raise InvalidConfig(
            f"refusing to listen on {host}: account(s) {', '.join(demo)} still have the published "
            "demo password; run `gkflow users disable-demo` (or `gkflow users passwd USER`) "
            "first, or serve on 127.0.0.1"
        )
