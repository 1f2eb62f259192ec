"""Failed public look-ups and logins, counted per client in the database so that every web process
shares the count: after LOOKUP_MAX_FAILURES in a window, the client is refused until it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import LookupFailureRow
from gkflow.domain.errors import NotFound, RateLimited
from gkflow.runtime import Runtime
from gkflow.services.read_models import PublicCase
from gkflow.services.views import public_case

LOOKUP_WINDOW = timedelta(minutes=10)
LOOKUP_MAX_FAILURES = 10

lookup_failures_t = table_of(LookupFailureRow)


def _window_start(now: datetime) -> datetime:
    seconds = int(LOOKUP_WINDOW.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def check_lookup_allowed(rt: Runtime, client: str) -> None:
    """RateLimited if ``client`` has failed too often in the current window."""
    start = _window_start(rt.now())
    with rt.engine.connect() as conn:
        failures = conn.execute(
            select(lookup_failures_t.c.failures).where(
                lookup_failures_t.c.client == client, lookup_failures_t.c.window_start == start
            )
        ).scalar()
    if failures is not None and failures >= LOOKUP_MAX_FAILURES:
        raise RateLimited("查询失败次数过多，请10分钟后再试 (too many failed look-ups; try again later)")


def record_lookup_failure(rt: Runtime, client: str) -> None:
    """Count one failure of ``client`` in the current window (old windows are dropped)."""
    now = rt.now()
    start = _window_start(now)
    this_window = (lookup_failures_t.c.client == client, lookup_failures_t.c.window_start == start)
    with write_connection(rt.engine) as conn, conn.begin():
        updated = conn.execute(
            lookup_failures_t.update().where(*this_window).values(failures=lookup_failures_t.c.failures + 1)
        ).rowcount
        if not updated:
            conn.execute(lookup_failures_t.delete().where(lookup_failures_t.c.window_start < start))
            try:
                with conn.begin_nested():
                    conn.execute(
                        lookup_failures_t.insert().values(client=client, window_start=start, failures=1)
                    )
            except IntegrityError:  # another process inserted the row first
                conn.execute(
                    lookup_failures_t.update().where(*this_window)
                    .values(failures=lookup_failures_t.c.failures + 1)
                )


def guarded_public_case(rt: Runtime, *, client: str, case_no: str, code: str) -> PublicCase:
    """The applicant's view of a case, with failures counted per client so that case numbers and
    query codes cannot be probed."""
    check_lookup_allowed(rt, client)
    try:
        return public_case(rt, case_no, code)
    except NotFound:
        record_lookup_failure(rt, client)
        raise
