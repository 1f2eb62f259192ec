"""The embedded scheduler keeps its jobs in the gkflow database and applies late-run policies."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import column, table, update

from gkflow.publication.service import publish_period
from gkflow.scheduling.config import LateRuns, PublicationSchedule, Schedules, load_schedules
from gkflow.scheduling.embedded import JOBSTORE_TABLE, EmbeddedScheduler, stored_next_run_times

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


def schedules(policy: LateRuns) -> Schedules:
    return Schedules(TZ, [PublicationSchedule("fiscal-monthly", "0 9 5 * *", policy),
                          PublicationSchedule("land-quarterly", "0 9 10 1,4,7,10 *", policy)], [])


def stop_scheduler_at(rt, policy: LateRuns, stopped: datetime) -> None:
    """Run the scheduler once, then pretend it stopped at ``stopped`` (its jobs waiting for later)."""
    scheduler = EmbeddedScheduler(rt, schedules(policy), run_period=lambda *a: None)
    scheduler.start(now=stopped, background_catch_up=False)
    scheduler.shutdown()
    jobs = table(JOBSTORE_TABLE, column("id"), column("next_run_time"))
    with rt.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == "publish:fiscal-monthly")
                     .values(next_run_time=datetime(2026, 6, 5, 1, 0, tzinfo=UTC).timestamp()))
        conn.execute(update(jobs).where(jobs.c.id == "publish:land-quarterly")
                     .values(next_run_time=datetime(2026, 7, 10, 1, 0, tzinfo=UTC).timestamp()))


def restart(rt, policy: LateRuns) -> tuple[EmbeddedScheduler, list[tuple[str, str, str]]]:
    ran: list[tuple[str, str, str]] = []
    scheduler = EmbeddedScheduler(rt, schedules(policy), run_period=lambda *a: ran.append(a))
    scheduler.start(now=NOW, background_catch_up=False)
    scheduler.shutdown()
    return scheduler, ran


def test_jobs_persist_in_the_gkflow_database(rt):
    stop_scheduler_at(rt, LateRuns.BACKFILL, NOW)
    stored = stored_next_run_times(rt)
    assert set(stored) == {"publish:fiscal-monthly", "publish:land-quarterly"}


def test_backfill_publishes_every_missed_period_once_and_leaves_published_ones_alone(rt, clock):
    clock.set(NOW)
    assert publish_period(rt, "fiscal-monthly", "2026-10").status == "published"
    stop_scheduler_at(rt, LateRuns.BACKFILL, NOW)
    scheduler, ran = restart(rt, LateRuns.BACKFILL)
    assert ran == [("fiscal-monthly", p, "catch-up") for p in ("2026-05", "2026-06", "2026-07", "2026-08",
                                                               "2026-09")] + [
        ("land-quarterly", "2026-Q2", "catch-up"), ("land-quarterly", "2026-Q3", "catch-up")]
    fiscal = scheduler.catch_up_plans[0]
    assert fiscal.missed[-1] == "2026-10" and fiscal.already_published == ["2026-10"]
    # The job store now waits for the next real fire time: a second restart runs nothing again.
    assert restart(rt, LateRuns.BACKFILL)[1] == []


def test_run_once_publishes_only_the_latest_missed_period(rt):
    stop_scheduler_at(rt, LateRuns.RUN_ONCE, NOW)
    scheduler, ran = restart(rt, LateRuns.RUN_ONCE)
    assert ran == [("fiscal-monthly", "2026-10", "catch-up"), ("land-quarterly", "2026-Q3", "catch-up")]
    assert scheduler.catch_up_plans[0].skipped == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]


def test_skip_publishes_nothing_but_names_what_was_skipped(rt):
    stop_scheduler_at(rt, LateRuns.SKIP, NOW)
    scheduler, ran = restart(rt, LateRuns.SKIP)
    assert ran == []
    assert scheduler.catch_up_plans[1].skipped == ["2026-Q2", "2026-Q3"]


def test_the_shipped_schedules_load_and_name_maintenance_jobs_by_reference(sqlite_rt):
    loaded = load_schedules(sqlite_rt.settings.config_dir)
    assert {s.task for s in loaded.publications} == {"fiscal-monthly", "land-quarterly",
                                                    "construction-progress", "disclosure-annual",
                                                    "scorecard-monthly"}
    refs = {job.name: job.ref for job in loaded.maintenance}
    assert refs["dispatch"] == "flows.dispatch:poll_and_dispatch"
    scheduler = EmbeddedScheduler(sqlite_rt, loaded, run_period=lambda *a: None)
    scheduler.start(now=NOW, background_catch_up=False)
    try:
        ids = {job.id for job in scheduler.scheduler.get_jobs()}
        assert {"publish:fiscal-monthly", "publish:scorecard-monthly", "maintenance:sweep",
                "maintenance:milestones", "maintenance:licences"} <= ids
        fiscal = scheduler.scheduler.get_job("publish:fiscal-monthly")
        assert fiscal.next_run_time.astimezone(TZ).strftime("%d %H:%M") == "05 09:00"
    finally:
        scheduler.shutdown()


def test_a_poll_skipped_while_the_previous_one_runs_is_not_logged_as_a_warning(caplog):
    import logging

    import gkflow.scheduling.embedded  # noqa: F401 - installs the filter

    logger = logging.getLogger("apscheduler.scheduler")
    with caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
        logger.warning('Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                       "poll_and_dispatch", 1)
        logger.warning("Run time of job %s was missed by %s", "sweep", "0:10:00")
    assert [r.getMessage() for r in caplog.records] == ["Run time of job sweep was missed by 0:10:00"]
