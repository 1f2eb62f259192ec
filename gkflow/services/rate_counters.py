"""Fixed-window counters in the database, shared by every web process: one-time codes per phone and
per client, online submissions per client. A refused request counts nothing and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from gkflow.db.door_models import RateCounterRow
from gkflow.db.models import table_of
from gkflow.domain.errors import RateLimited

counters_t = table_of(RateCounterRow)


@dataclass(frozen=True)
class Limit:
    scope: str
    window: timedelta
    most: int
    message: str  # Chinese, for the applicant


# 短信验证码: one a minute and ten a day per phone; thirty an hour per client (a hall's shared Wi-Fi).
CODE_PER_PHONE_MINUTE = Limit("code-phone-minute", timedelta(minutes=1), 1,
                              "验证码发送过于频繁，请1分钟后再试")
CODE_PER_PHONE_DAY = Limit("code-phone-day", timedelta(days=1), 10,
                           "该号码今日获取验证码次数已达上限，请明日再试")
CODE_PER_CLIENT_HOUR = Limit("code-client-hour", timedelta(hours=1), 30, "获取验证码过于频繁，请稍后再试")
# Online submissions from one client without a bearer token.
SUBMIT_PER_CLIENT_HOUR = Limit("submit-client-hour", timedelta(hours=1), 20, "提交申请过于频繁，请稍后再试")


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def count_in(conn: Connection, limit: Limit, key: str, now: datetime) -> None:
    """Count one request of ``key`` in the caller's transaction; RateLimited (nothing counted) if the
    window is full. Old windows of the scope are dropped on the way."""
    start = _window_start(now, limit.window)
    this_window = (counters_t.c.scope == limit.scope, counters_t.c.key == key,
                   counters_t.c.window_start == start)
    used = conn.execute(select(counters_t.c.count).where(*this_window)).scalar()
    if used is not None and used >= limit.most:
        raise RateLimited(limit.message, retry_after=int((start + limit.window - now).total_seconds()) + 1)
    if used is not None:
        conn.execute(counters_t.update().where(*this_window).values(count=counters_t.c.count + 1))
        return
    conn.execute(counters_t.delete().where(counters_t.c.scope == limit.scope,
                                           counters_t.c.window_start < start))
    try:
        with conn.begin_nested():
            conn.execute(counters_t.insert().values(scope=limit.scope, key=key, window_start=start, count=1))
    except IntegrityError:  # another process counted the first one at the same moment
        conn.execute(counters_t.update().where(*this_window).values(count=counters_t.c.count + 1))
