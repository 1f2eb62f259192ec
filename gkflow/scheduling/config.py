"""`config/schedules.yaml`: the cadences of publication tasks and maintenance jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from gkflow.config.cron import cron_fields, fire_times
from gkflow.config.files import read_mapping
from gkflow.domain.errors import InvalidConfig

SCHEDULES_FILE = "schedules.yaml"
__all__ = ["cron_fields", "fire_times", "load_schedules"]  # the cron helpers live in gkflow.config.cron


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
    "flows.openness:poll_licence_decisions",
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

