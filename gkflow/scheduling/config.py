"""`config/schedules.yaml`: the cadences of publication tasks and maintenance jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from gkflow.config.files import read_mapping
from gkflow.domain.errors import InvalidConfig

SCHEDULES_FILE = "schedules.yaml"
_TICK = timedelta(seconds=1)
_CRON_DAYS = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}


class LateRuns(StrEnum):
    BACKFILL = "backfill"
    RUN_ONCE = "run_once"
    SKIP = "skip"


@dataclass(frozen=True)
class PublicationSchedule:
    task: str
    cron: str
    late_runs: LateRuns
    parameters: dict[str, object] = field(default_factory=dict)


# The functions the embedded scheduler may run as maintenance jobs. APScheduler keeps jobs in the
# database by this textual reference and imports it itself; naming them here means a typo in
# schedules.yaml is a clear error at start-up, not a job that silently never runs.
MAINTENANCE_REFS = (
    "flows.dispatch:poll_and_dispatch",
    "flows.triggers:poll_milestones",
    "gkflow.scheduling.jobs:run_sweep",
    "gkflow.scheduling.jobs:write_checkpoint",
)


@dataclass(frozen=True)
class MaintenanceJob:
    name: str
    ref: str  # "module:function", importable by reference
    interval_seconds: int


@dataclass(frozen=True)
class Schedules:
    timezone: ZoneInfo
    publications: list[PublicationSchedule]
    maintenance: list[MaintenanceJob]


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


def load_schedules(config_dir: Path) -> Schedules:
    path = config_dir / SCHEDULES_FILE
    data = read_mapping(path, required_for="cadences are configured there")
    from gkflow.publication.tasks import TASKS

    tz = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    publications = []
    for task, spec in (data.get("publications") or {}).items():
        if task not in TASKS:
            raise InvalidConfig(f"{path}: unknown publication task '{task}'")
        if not isinstance(spec, dict) or not spec.get("cron"):
            raise InvalidConfig(f"{path}: publications.{task} needs a cron")
        try:
            late = LateRuns(spec.get("late_runs", "run_once"))
        except ValueError:
            raise InvalidConfig(f"{path}: publications.{task}.late_runs must be one of "
                                f"{', '.join(v.value for v in LateRuns)}") from None
        cron_fields(str(spec["cron"]))
        parameters = dict(spec.get("parameters") or {})
        publications.append(PublicationSchedule(task, str(spec["cron"]), late, parameters))
    maintenance = []
    for name, spec in (data.get("maintenance") or {}).items():
        if not isinstance(spec, dict) or str(spec.get("ref", "")) not in MAINTENANCE_REFS:
            known = ", ".join(MAINTENANCE_REFS)
            raise InvalidConfig(f"{path}: maintenance.{name}.ref must be one of {known}")
        maintenance.append(MaintenanceJob(name, str(spec["ref"]), int(spec.get("interval_seconds", 60))))
    return Schedules(tz, publications, maintenance)

