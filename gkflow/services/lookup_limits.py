"""Limits on guessing, that shut out attackers and not citizens (issue 11).

Failed staff log-ins and public look-ups are counted per **key** (the account, or the case number)
and per **client** (its address; an IPv6 client by its /64), in the database so that every web
process shares the count. After a few free failures each further one makes that key or client wait,
twice as long each time up to a ceiling (429 with ``Retry-After``), instead of a wall: one person
mistyping in a service hall does not lock the hall's shared address out, and a guesser gets a few
hundred tries a day at one case, against 8.5 × 10¹¹ query codes. The client allowance is larger than
the key allowance because many people share a hall's address. A success clears the key (not the
client: a guesser could otherwise clear its own count with a case it knows). Counts are forgotten
after ``forget`` without failures.

The API for any new look-up or log-in: ``check_*`` before, ``record_*_failure`` after a wrong
credential, ``record_*_success`` after a right one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import AttemptRow
from gkflow.domain.errors import NotFound, RateLimited
from gkflow.runtime import Runtime
from gkflow.services.read_models import PublicCase
from gkflow.services.views import public_case

attempts_t = table_of(AttemptRow)

LOGIN = "login"
LOOKUP = "lookup"


@dataclass(frozen=True)
class Policy:
    """How many failures are free, the first delay after them, the longest, and when to forget."""

    free: int
    first_delay: timedelta
    max_delay: timedelta
    forget: timedelta

    def delay_after(self, failures: int) -> timedelta | None:
        """The wait that the ``failures``-th failure imposes (None while failures are free)."""
        if failures <= self.free:
            return None
        doublings = min(failures - self.free - 1, 30)
        delay: timedelta = min(self.first_delay * (2**doublings), self.max_delay)
        return delay


# One account or one case number, from anywhere.
KEY_POLICY = Policy(free=5, first_delay=timedelta(seconds=2), max_delay=timedelta(minutes=15),
                    forget=timedelta(hours=1))
# One client address, over every key: a service hall's shared address gets a larger allowance.
CLIENT_POLICY = Policy(free=20, first_delay=timedelta(seconds=1), max_delay=timedelta(minutes=5),
                       forget=timedelta(minutes=30))


def _digest(scope: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{scope}|{kind}|{value}".encode()).hexdigest()


def client_bucket(client: str) -> str:
    """The address a client is counted under: itself, or its /64 for IPv6 (one subscriber's block)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(scope: str, client: str, key: str) -> tuple[tuple[str, Policy], tuple[str, Policy]]:
    return ((_digest(scope, "key", key), KEY_POLICY),
            (_digest(scope, "client", client_bucket(client)), CLIENT_POLICY))


def _wait_message(seconds: int) -> str:
    if seconds < 60:
        return f"尝试次数过多，请{seconds}秒后再试。"
    return f"尝试次数过多，请{math.ceil(seconds / 60)}分钟后再试。"


def check(rt: Runtime, scope: str, *, client: str, key: str) -> bool:
    """RateLimited (with the seconds to wait) while the key or the client must wait; else whether the
    key has failures on record (a success then has something to clear)."""
    now = rt.now()
    (key_hash, _), (client_hash, _) = _keys(scope, client, key)
    with rt.engine.connect() as conn:
        rows = conn.execute(
            select(attempts_t.c.key_hash, attempts_t.c.blocked_until)
            .where(attempts_t.c.key_hash.in_((key_hash, client_hash)))
        ).all()
    until = [row.blocked_until for row in rows if row.blocked_until is not None and row.blocked_until > now]
    if until:
        seconds = max(1, math.ceil((max(until) - now).total_seconds()))
        raise RateLimited(_wait_message(seconds), retry_after=seconds)
    return any(row.key_hash == key_hash for row in rows)


def record_failure(rt: Runtime, scope: str, *, client: str, key: str) -> None:
    """Count one failure of the key and of the client (and start their wait once it is due)."""
    for attempt in range(2):
        try:
            _record_failure(rt, scope, client, key)
            return
        except IntegrityError:  # another process inserted the same counter first: count again
            if attempt:
                raise


def _record_failure(rt: Runtime, scope: str, client: str, key: str) -> None:
    now = rt.now()
    with write_connection(rt.engine) as conn, conn.begin():
        # Forgotten counters go first (indexed), so guesses at random case numbers leave no trail.
        conn.execute(attempts_t.delete().where(
            attempts_t.c.last_failure_at < now - max(KEY_POLICY.forget, CLIENT_POLICY.forget)))
        for digest, policy in _keys(scope, client, key):
            row = conn.execute(
                select(attempts_t.c.failures, attempts_t.c.last_failure_at)
                .where(attempts_t.c.key_hash == digest).with_for_update()
            ).first()
            stale = row is None or row.last_failure_at < now - policy.forget
            failures = 1 if row is None or stale else row.failures + 1
            delay = policy.delay_after(failures)
            values = {"failures": failures, "last_failure_at": now,
                      "blocked_until": now + delay if delay else None}
            if row is None:
                conn.execute(attempts_t.insert().values(key_hash=digest, **values))
            else:
                conn.execute(attempts_t.update().where(attempts_t.c.key_hash == digest).values(**values))


def record_success(rt: Runtime, scope: str, *, key: str, counted: bool = True) -> None:
    """Clear the key's failures after a right credential (the client's count stays). ``counted``:
    what ``check`` said; False skips the work (most successes have nothing to clear)."""
    if not counted:
        return
    digest = _digest(scope, "key", key)
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(attempts_t.delete().where(attempts_t.c.key_hash == digest))


# -- the two uses: public look-ups (by case number) and staff log-ins (by account) ------------------


def _case_key(case_no: str) -> str:
    return case_no.strip().upper()


def check_lookup(rt: Runtime, *, client: str, case_no: str) -> bool:
    """Before a look-up or rating with a query code: RateLimited while the case or client waits;
    returns whether the case has failures on record (pass it to ``record_lookup_success``)."""
    return check(rt, LOOKUP, client=client, key=_case_key(case_no))


def record_lookup_failure(rt: Runtime, *, client: str, case_no: str) -> None:
    """After a wrong case number or query code."""
    record_failure(rt, LOOKUP, client=client, key=_case_key(case_no))


def record_lookup_success(rt: Runtime, *, case_no: str, counted: bool = True) -> None:
    """After a right query code: the case's failures are cleared (``counted``: what the check said)."""
    record_success(rt, LOOKUP, key=_case_key(case_no), counted=counted)


def check_login(rt: Runtime, *, client: str, username: str) -> bool:
    """Before a staff log-in: RateLimited while the account or the client waits; returns whether the
    account has failures on record (pass it to ``record_login_success``)."""
    return check(rt, LOGIN, client=client, key=username.strip().lower())


def record_login_failure(rt: Runtime, *, client: str, username: str) -> None:
    """After a wrong user name or password."""
    record_failure(rt, LOGIN, client=client, key=username.strip().lower())


def record_login_success(rt: Runtime, *, username: str, counted: bool = True) -> None:
    """After a right password: the account's failures are cleared (``counted``: what the check said)."""
    record_success(rt, LOGIN, key=username.strip().lower(), counted=counted)


def guarded_public_case(rt: Runtime, *, client: str, case_no: str, code: str) -> PublicCase:
    """The applicant's view of a case, with failures counted per case number and per client so that
    query codes cannot be guessed."""
    counted = check_lookup(rt, client=client, case_no=case_no)
    try:
        view = public_case(rt, case_no, code)
    except NotFound:
        record_lookup_failure(rt, client=client, case_no=case_no)
        raise
    record_lookup_success(rt, case_no=case_no, counted=counted)
    return view
