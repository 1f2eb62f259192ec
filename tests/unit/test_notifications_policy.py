"""Delivery rules: statuses, backoff, give-up horizon, quiet hours and rate limiting."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

from notifications.errors import (
    MissingTemplateValue,
    PermanentFailure,
    TechnicalFailure,
    TemporaryFailure,
)
from notifications.policy import (
    RateLimiter,
    Status,
    give_up,
    next_attempt_delay,
    release_time,
    status_for_error,
)


def test_status_vocabulary_is_fixed():
    assert [s.value for s in Status] == [
        "created",
        "sending",
        "delivered",
        "temporary-failure",
        "permanent-failure",
        "technical-failure",
        "dead",
    ]
    assert Status.TEMPORARY_FAILURE == "temporary-failure"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (TemporaryFailure("503"), Status.TEMPORARY_FAILURE),
        (PermanentFailure("400"), Status.PERMANENT_FAILURE),
        (TechnicalFailure("config"), Status.TECHNICAL_FAILURE),
        (MissingTemplateValue("accepted", "sms", "department"), Status.TECHNICAL_FAILURE),
        (RuntimeError("bug"), Status.TECHNICAL_FAILURE),
    ],
)
def test_each_error_maps_to_one_status(error: Exception, status: Status):
    assert status_for_error(error) == status


def test_backoff_ceiling_doubles_from_the_base_up_to_the_cap():
    ceilings = [next_attempt_delay(n, base_s=30, cap_s=3600, rng=lambda: 1.0) for n in range(1, 10)]

    assert ceilings == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_backoff_is_full_jitter_within_zero_and_the_ceiling():
    rng = random.Random(7).random
    for attempt in range(1, 40):
        delay = next_attempt_delay(attempt, base_s=30, cap_s=3600, rng=rng)
        assert 0 <= delay <= min(3600, 30 * 2 ** (attempt - 1))
    assert next_attempt_delay(5, rng=lambda: 0.0) == 0


def test_backoff_survives_absurd_attempt_numbers_and_rejects_attempt_zero():
    assert next_attempt_delay(100_000, rng=lambda: 1.0) == 3600
    with pytest.raises(ValueError):
        next_attempt_delay(0)


def test_give_up_once_the_horizon_has_passed():
    first = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    assert not give_up(first, first + timedelta(hours=23, minutes=59), horizon_s=24 * 3600)
    assert give_up(first, first + timedelta(hours=24), horizon_s=24 * 3600)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 2, 13, 59), None),  # 21:59 in Shanghai
        (utc(2026, 3, 2, 14, 0), utc(2026, 3, 3, 0, 0)),  # 22:00 → 08:00 next morning
        (utc(2026, 3, 2, 15, 59), utc(2026, 3, 3, 0, 0)),  # 23:59, before midnight
        (utc(2026, 3, 2, 16, 0), utc(2026, 3, 3, 0, 0)),  # 00:00 local on 3 March
        (utc(2026, 3, 2, 23, 59), utc(2026, 3, 3, 0, 0)),  # 07:59 local
        (utc(2026, 3, 3, 0, 0), None),  # 08:00 local: open again
    ],
)
def test_quiet_hours_cross_midnight_in_shanghai(now: datetime, expected: datetime | None):
    assert release_time(now) == expected


def test_quiet_hours_release_is_utc_and_respects_the_new_year():
    released = release_time(utc(2026, 12, 31, 15, 30))  # 23:30 on New Year's Eve in Shanghai

    assert released == utc(2027, 1, 1, 0, 0)
    assert released is not None and released.tzinfo == UTC


def test_quiet_hours_within_one_day_and_disabled_quiet_hours():
    assert release_time(utc(2026, 3, 2, 4, 30), start="12:00", end="14:00") == utc(2026, 3, 2, 6, 0)
    assert release_time(utc(2026, 3, 2, 6, 0), start="12:00", end="14:00") is None
    assert release_time(utc(2026, 3, 2, 15, 0), start="22:00", end="22:00") is None


def test_quiet_hours_refuse_a_naive_now():
    with pytest.raises(ValueError):
        release_time(datetime(2026, 3, 2, 14, 0))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_allows_a_burst_then_refills_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock, sleep=clock.sleep)

    assert [limiter.acquire() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert limiter.acquire()
    assert not limiter.acquire()
    clock.now += 60
    assert [limiter.acquire() for _ in range(4)] == [True, True, True, False]


def test_rate_limiter_waits_for_a_token_within_the_timeout():
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=4, burst=1, clock=clock, sleep=clock.sleep)
    limiter.acquire()

    assert limiter.acquire(timeout=1.0)
    assert clock.slept == [pytest.approx(0.25)]


def test_rate_limiter_gives_up_without_sleeping_when_the_timeout_is_too_short():
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1, burst=1, clock=clock, sleep=clock.sleep)
    limiter.acquire()

    assert not limiter.acquire(timeout=0.5)
    assert clock.slept == []


def test_rate_limiter_hands_out_each_token_once_across_threads():
    clock = FakeClock()  # frozen: no refill, so exactly the burst can be taken
    limiter = RateLimiter(rate_per_s=1, burst=50, clock=clock, sleep=lambda s: None)
    taken: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            got = limiter.acquire()
            with lock:
                taken.append(got)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert taken.count(True) == 50


def test_rate_limiter_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        RateLimiter(rate_per_s=0, burst=1)
    with pytest.raises(ValueError):
        RateLimiter(rate_per_s=1, burst=0)
