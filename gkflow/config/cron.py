"""Cron expressions of config files (schedules, the openness directory): five fields in a time zone,
day-of-week numbers as cron reads them (0 or 7 = Sunday), never APScheduler's 0 = Monday."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gkflow.domain.errors import InvalidConfig

_TICK = timedelta(seconds=1)
_CRON_DAYS = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}


def cron_fields(cron: str) -> dict[str, str]:
    """APScheduler CronTrigger keyword arguments; weekday numbers are cron's (0/7 = Sunday)."""
    parts = cron.split()
    if len(parts) != 5:
        raise InvalidConfig(f"cron '{cron}' needs 5 fields: minute hour day month day-of-week")
    minute, hour, day, month, dow = parts

    def name(token: str) -> str:
        return _CRON_DAYS.get(token, token)

    dow = ",".join("-".join(name(t) for t in item.split("-")) for item in dow.split(","))
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": dow}


def check_cron(cron: str, tz: ZoneInfo) -> None:
    """InvalidConfig unless ``cron`` is five valid fields."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger(timezone=tz, **cron_fields(cron))
    except (ValueError, TypeError) as exc:
        raise InvalidConfig(f"cron '{cron}' is not valid: {exc}") from None


def fire_times(cron: str, tz: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """Every fire time t with after <= t <= until."""
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger(timezone=tz, **cron_fields(cron))
    times: list[datetime] = []
    previous = None
    current = trigger.get_next_fire_time(None, after)
    while current is not None and current <= until:
        times.append(current)
        previous = current
        current = trigger.get_next_fire_time(previous, previous + _TICK)
    return times
