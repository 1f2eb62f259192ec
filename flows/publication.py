"""Publication flows: one period on demand and the scheduled period.

Flows are async because a sync flow waits for its heartbeat thread at the end (≥ 1 s a run,
PREFECT.md) and heartbeats stay on in production. The work itself is blocking I/O, so it runs in a
thread (the flow-run context is copied with it); call a flow from sync code with ``run_flow``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar, cast

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run

from flows.runtime import current_runtime
from gkflow.publication.periods import last_formed
from gkflow.publication.service import publish_task_period
from gkflow.publication.tasks import task_spec
from gkflow.services.scorecard import compute_scorecard
from gkflow.services.scorecard_export import publication_rows

SCORECARD_TASK = "scorecard-monthly"

T = TypeVar("T")


def as_prefect_task(name: str, fn: Callable[..., T], /) -> Callable[..., T]:
    """The stage as a Prefect task run. Rows are passed in memory: no input hashing (10,000 rows)
    and no result persistence."""
    wrapped = task(name=name, cache_policy=NONE, persist_result=False, log_prints=False)(fn)
    return cast(Callable[..., T], wrapped)


def run_flow(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def computed_rows(task_name: str, period: str) -> list[dict[str, Any]] | None:
    """Rows of a task whose source is gkflow itself (the department scorecard); None for others."""
    if task_name != SCORECARD_TASK:
        return None
    rt = current_runtime()
    return publication_rows(compute_scorecard(rt, period))


def run_id() -> str | None:
    run_id = flow_run.id
    return str(run_id) if run_id else None


@flow(name="publish-period")
async def publish_period_flow(task_name: str, period: str, project: str = "", source: str | None = None,
                              trigger: str = "manual") -> list[dict[str, Any]]:
    """Publish one period of one task (every active project for construction-progress)."""
    rt = current_runtime()
    rows = await asyncio.to_thread(computed_rows, task_name, period)
    outcomes = await asyncio.to_thread(
        publish_task_period, rt, task_name, period, subject=project, source=source, trigger=trigger,
        flow_run_id=run_id(), step=as_prefect_task, rows=rows)
    return [o.to_dict(rt) for o in outcomes]


@flow(name="publish-scheduled")
async def publish_scheduled_flow(task_name: str) -> list[dict[str, Any]]:
    """The scheduled run: the latest period formed before the run was *scheduled*, so a run that
    starts late (a worker was down) still publishes the period it was meant for."""
    rt = current_runtime()
    scheduled = flow_run.scheduled_start_time
    at = scheduled if isinstance(scheduled, datetime) else rt.now()
    period = last_formed(task_spec(task_name).cadence, rt.local_date(at))
    rows = await asyncio.to_thread(computed_rows, task_name, period.label)
    outcomes = await asyncio.to_thread(
        publish_task_period, rt, task_name, period.label, trigger="schedule", flow_run_id=run_id(),
        step=as_prefect_task, rows=rows)
    return [o.to_dict(rt) for o in outcomes]
