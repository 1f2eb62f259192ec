"""Delivery rules, pure: the status vocabulary, retry timing, quiet hours and rate limiting."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from enum import StrEnum
from zoneinfo import ZoneInfo

from notifications.errors import PermanentFailure, TemporaryFailure


class Status(StrEnum):
    """The only delivery statuses (GOV.UK Notify's vocabulary plus ``dead`` for the dead letter)."""

    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"
    DEAD = "dead"


def status_for_error(error: BaseException) -> Status:
    """The status to record for an exception out of render() or Channel.send()."""
    if isinstance(error, TemporaryFailure):
        return Status.TEMPORARY_FAILURE
    if isinstance(error, PermanentFailure):
        return Status.PERMANENT_FAILURE
    return Status.TECHNICAL_FAILURE


def next_attempt_delay(
    attempt: int,
    base_s: float = 30,
    cap_s: float = 3600,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first send).

    Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))], so
    retries of many messages failing together (a provider outage) spread out instead of
    arriving in waves.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    # Past 2**62 the ceiling is the cap anyway; bounding the exponent avoids float overflow.
    ceiling = min(cap_s, base_s * 2 ** min(attempt - 1, 62))
    return float(rng() * ceiling)


def give_up(first_attempt_at: datetime, now: datetime, horizon_s: float) -> bool:
    """True once retrying has gone on for ``horizon_s`` seconds: move the message to ``dead``."""
    return (now - first_attempt_at).total_seconds() >= horizon_s


def release_time(
    now_utc: datetime,
    tz: str = "Asia/Shanghai",
    start: str = "22:00",
    end: str = "08:00",
) -> datetime | None:
    """None if a message may go out now; otherwise the UTC instant the quiet hours end.

    Quiet hours are local wall-clock times in ``tz`` and may cross midnight (22:00-08:00).
    ``start == end`` means no quiet hours.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(tz)
    quiet_from, quiet_until = clock_time.fromisoformat(start), clock_time.fromisoformat(end)
    local = now_utc.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if quiet_from == quiet_until:
        return None
    if quiet_from < quiet_until:
        quiet = quiet_from <= wall < quiet_until
    else:
        quiet = wall >= quiet_from or wall < quiet_until
    if not quiet:
        return None
    release_day = local.date()
    if wall >= quiet_until:  # evening side of a window that crosses midnight
        release_day += timedelta(days=1)
    return datetime.combine(release_day, quiet_until, tzinfo=zone).astimezone(UTC)


class RateLimiter:
    """Thread-safe token bucket: ``rate_per_s`` sends per second on average, bursts up to ``burst``."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be > 0")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    def acquire(self, timeout: float = 0.0) -> bool:
        """Take one token, waiting up to ``timeout`` seconds; False if none came in time."""
        deadline = self._clock() + timeout
        while True:
            with self._lock:
                now = self._clock()
                elapsed = max(0.0, now - self._updated)
                self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return True
                wait = (1 - self._tokens) / self._rate
            # Sleep outside the lock so other threads can refill and take tokens meanwhile.
            if now + wait > deadline:
                return False
            self._sleep(wait)
