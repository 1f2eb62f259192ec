"""Health of the process's dependencies, for `GET /healthz` and the process managers: the database,
who runs the embedded scheduler, and how far behind the outbox is."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import text

from gkflow.db.leader import current_leader
from gkflow.delivery.outbox import due_backlog
from gkflow.runtime import Runtime
from gkflow.services.read_models import (
    DatabaseHealth,
    HealthReport,
    LeaderView,
    OutboxHealth,
    SchedulerHealth,
)

log = logging.getLogger("gkflow.health")
# A leader beats its heart every 2 s (gkflow.scheduling.election); this much silence means it is gone.
LEADER_STALE_S = 15.0
# Notices should leave within 5 s; a backlog this old means the dispatchers are down or overwhelmed.
OUTBOX_LAG_DEGRADED_S = 30.0


def database_answers(rt: Runtime) -> bool:
    """Whether the database answers a trivial query (an error propagates: the caller reports it)."""
    with rt.engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1


def health(rt: Runtime, *, embedded_scheduler: bool, leads: bool) -> HealthReport:
    """The report of this process: ``embedded_scheduler`` whether it takes part in the election,
    ``leads`` whether it holds the lock now."""
    dialect = rt.engine.dialect.name
    try:
        database_answers(rt)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        # Only the error's class: /healthz may be reachable from outside, the message names hosts.
        log.warning("health check: the database does not answer", exc_info=True)
        reason = type(exc).__name__
        return HealthReport(ok=False, status="down", problems=["the database does not answer"],
                            database=DatabaseHealth(ok=False, dialect=dialect, error=reason),
                            scheduler=None, outbox=None)
    now = rt.now()
    problems = []
    record = current_leader(rt.engine)
    leader = None
    if record is not None:
        age = (now - _aware(record.heartbeat_at)).total_seconds()
        if age <= LEADER_STALE_S:
            leader = LeaderView(holder=record.holder, heartbeat_age_s=round(max(age, 0.0), 1),
                                elected_at=_aware(record.elected_at).astimezone(rt.settings.tz)
                                .isoformat(timespec="seconds"))
    if embedded_scheduler and leader is None:
        problems.append("no process runs the embedded scheduler")
    due, since = due_backlog(rt, now=now)
    lag = max((now - _aware(since)).total_seconds(), 0.0) if since is not None else 0.0
    if lag > OUTBOX_LAG_DEGRADED_S:
        problems.append(f"the oldest due notice has waited {lag:.0f} s")
    return HealthReport(
        ok=True, status="degraded" if problems else "ok", problems=problems,
        database=DatabaseHealth(ok=True, dialect=dialect),
        scheduler=SchedulerHealth(embedded=embedded_scheduler, this_process_leads=leads, leader=leader),
        outbox=OutboxHealth(due=due, lag_s=round(lag, 1)),
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
