"""The embedded scheduler of `gkflow serve`: APScheduler with its job store in the gkflow database.

Prefect's ephemeral API runs no schedules (PREFECT.md), so APScheduler calls the same flows the
Prefect deployments run. After a downtime each publication applies its late-run policy: the job
store remembers the next fire time each job was waiting for, so the fire times missed since then
are known exactly; they become periods, and the policy decides which of those are published.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import column, inspect, select, table

from gkflow.publication import ledger
from gkflow.publication.periods import last_formed
from gkflow.publication.tasks import task_spec
from gkflow.runtime import Runtime
from gkflow.scheduling.config import (
    LateRuns,
    PublicationSchedule,
    Schedules,
    cron_fields,
    fire_times,
    load_schedules,
)

log = logging.getLogger("gkflow.scheduler")


class _SkipWhileRunningFilter(logging.Filter):
    """A short-interval poll still busy when its next turn comes is normal, not worth a warning
    every two seconds (the turn is skipped: max_instances=1, coalesce=True)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_SkipWhileRunningFilter())
JOBSTORE_TABLE = "scheduler_jobs"
# While the scheduler runs, a job late by less than this still runs (a busy pool, a suspend).
GRACE = {LateRuns.BACKFILL: 3600, LateRuns.RUN_ONCE: 3600, LateRuns.SKIP: 60}
RunPeriod = Callable[[str, str, str], Any]


def publication_job_id(task: str) -> str:
    return f"publish:{task}"


@dataclass
class CatchUp:
    task: str
    policy: str
    missed: list[str] = field(default_factory=list)  # periods whose runs were missed
    run: list[str] = field(default_factory=list)  # periods to publish now
    already_published: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def stored_next_run_times(rt: Runtime) -> dict[str, datetime]:
    """Job id -> the fire time the job was waiting for when the scheduler last stopped."""
    if not inspect(rt.engine).has_table(JOBSTORE_TABLE):
        return {}
    jobs = table(JOBSTORE_TABLE, column("id"), column("next_run_time"))
    with rt.engine.connect() as conn:
        return {
            job_id: datetime.fromtimestamp(float(ts), UTC)
            for job_id, ts in conn.execute(select(jobs.c.id, jobs.c.next_run_time))
            if ts is not None
        }


def plan_catch_up(rt: Runtime, schedules: Schedules, now: datetime) -> list[CatchUp]:
    stored = stored_next_run_times(rt)
    plans = []
    for schedule in schedules.publications:
        waiting_for = stored.get(publication_job_id(schedule.task))
        if waiting_for is None or waiting_for > now:
            continue
        plan = CatchUp(schedule.task, schedule.late_runs.value)
        cadence = task_spec(schedule.task).cadence
        for fired in fire_times(schedule.cron, schedules.timezone, waiting_for, now):
            period = last_formed(cadence, fired.astimezone(rt.settings.tz).date()).label
            if period not in plan.missed:
                plan.missed.append(period)
        chosen = {LateRuns.BACKFILL: plan.missed, LateRuns.RUN_ONCE: plan.missed[-1:],
                  LateRuns.SKIP: []}[schedule.late_runs]
        for period in plan.missed:
            if period not in chosen:
                plan.skipped.append(period)
            elif _published(rt, schedule.task, period):
                plan.already_published.append(period)
            else:
                plan.run.append(period)
        plans.append(plan)
    return plans


def _published(rt: Runtime, task: str, period: str) -> bool:
    """Any published version of the period (for per-project tasks: of any project)."""
    return any(r["period"] == period and r["status"] == ledger.PUBLISHED for r in ledger.rows(rt, task))


def execute_catch_up(plans: list[CatchUp], run_period: RunPeriod) -> None:
    for plan in plans:
        for period in plan.run:
            try:
                run_period(plan.task, period, "catch-up")
            except Exception:  # noqa: BLE001 - one bad period must not stop the others
                log.exception("catch-up run of %s %s failed", plan.task, period)


class EmbeddedScheduler:
    def __init__(self, rt: Runtime, schedules: Schedules | None = None,
                 run_period: RunPeriod | None = None, *, warm_prefect: bool = False) -> None:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self.rt = rt
        self.schedules = schedules or load_schedules(rt.settings.config_dir)
        self._run_period = run_period
        self.warm_prefect = warm_prefect
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=rt.engine, tablename=JOBSTORE_TABLE)},
            timezone=self.schedules.timezone,
        )
        self.catch_up_plans: list[CatchUp] = []
        self._catch_up_thread: threading.Thread | None = None
        RunRecorder(rt).attach(self.scheduler)

    def run_period(self, task: str, period: str, trigger: str) -> Any:
        if self._run_period is not None:
            return self._run_period(task, period, trigger)
        from gkflow.scheduling.jobs import run_period

        return run_period(task, period, trigger)

    def start(self, now: datetime | None = None, *, background_catch_up: bool = True) -> list[CatchUp]:
        from flows.runtime import use_runtime

        use_runtime(self.rt)
        now = now or self.rt.now()
        # Read the missed fire times before the job store is rewritten below.
        self.catch_up_plans = plan_catch_up(self.rt, self.schedules, now)
        for plan in self.catch_up_plans:
            log.warning("missed while stopped: %s %s (policy %s): run %s, skipped %s, already published %s",
                        plan.task, plan.missed, plan.policy, plan.run, plan.skipped, plan.already_published)
        for schedule in self.schedules.publications:
            self._add_publication(schedule)
        for job in self.schedules.maintenance:
            self.scheduler.add_job(
                job.ref, "interval", seconds=job.interval_seconds, id=f"maintenance:{job.name}",
                replace_existing=True, coalesce=True, max_instances=1,
                misfire_grace_time=max(job.interval_seconds, 5),
            )
        self.scheduler.start()
        if self.warm_prefect:
            threading.Thread(target=warm_up_prefect, name="gkflow-prefect-warm-up", daemon=True).start()
        if background_catch_up:
            self._catch_up_thread = threading.Thread(
                target=execute_catch_up, args=(self.catch_up_plans, self.run_period),
                name="gkflow-catch-up", daemon=True)
            self._catch_up_thread.start()
        else:
            execute_catch_up(self.catch_up_plans, self.run_period)
        return self.catch_up_plans

    def _add_publication(self, schedule: PublicationSchedule) -> None:
        self.scheduler.add_job(
            "gkflow.scheduling.jobs:run_scheduled_publication", "cron", args=[schedule.task],
            id=publication_job_id(schedule.task), replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=GRACE[schedule.late_runs], timezone=self.schedules.timezone,
            **cron_fields(schedule.cron),
        )

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._catch_up_thread is not None:
            self._catch_up_thread.join(timeout=1)


class RunRecorder:
    """Records runs worth showing on /admin/runs: every publication run, and maintenance polls that
    did something (a truthy result) or failed."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._started: dict[tuple[str, Any], datetime] = {}
        self._lock = threading.Lock()

    def attach(self, scheduler: Any) -> None:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

        scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _submitted(self, event: Any) -> None:
        with self._lock:
            for when in event.scheduled_run_times or [None]:
                self._started[(event.job_id, when)] = self.rt.now()

    def _finished(self, event: Any) -> None:
        from gkflow.services.flow_runs import record_scheduler_run

        with self._lock:
            started = self._started.pop((event.job_id, event.scheduled_run_time), None)
        failed = event.exception is not None
        if not (failed or event.job_id.startswith("publish:") or event.retval):
            return
        summary = f"{type(event.exception).__name__}: {event.exception}" if failed else _summary(event.retval)
        now = self.rt.now()
        try:
            record_scheduler_run(self.rt, job_id=event.job_id, scheduled_at=event.scheduled_run_time,
                                 started_at=started or now, finished_at=now, failed=failed, summary=summary)
        except Exception:  # noqa: BLE001 - the run log must never stop the scheduler
            log.warning("could not record the run of %s", event.job_id, exc_info=True)


def _summary(value: Any) -> str:
    if isinstance(value, list):
        parts = [f"{v.get('period', '')} {v.get('status', '')}".strip() if isinstance(v, dict) else str(v)
                 for v in value]
        return "; ".join(parts) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def warm_up_prefect() -> None:
    """Start Prefect's local API now (≈ 10–25 s, PREFECT.md) instead of on the first notice's flow
    run, so the first applicant notice after `gkflow serve` leaves within seconds too."""
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.api_healthcheck()
    except Exception:  # noqa: BLE001 - the first flow run will try again and report properly
        log.warning("could not start Prefect's local API ahead of time", exc_info=True)

