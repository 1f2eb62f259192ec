"""Functions the embedded scheduler calls by reference (its job store keeps only the reference)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("gkflow.scheduler")


def run_scheduled_publication(task: str) -> list[dict[str, Any]]:
    """The latest period formed before now, as its schedule asks."""
    from flows.runtime import current_runtime
    from gkflow.publication.periods import last_formed
    from gkflow.publication.tasks import task_spec

    rt = current_runtime()
    period = last_formed(task_spec(task).cadence, rt.local_date(rt.now()))
    return run_period(task, period.label, "schedule")


def run_period(task: str, period: str, trigger: str) -> list[dict[str, Any]]:
    from flows.publication import publish_period_flow, run_flow

    outcomes = run_flow(publish_period_flow(task, period, trigger=trigger))
    for o in outcomes:
        log.info("%s %s %s: %s", trigger, task, o["period"], o["status"])
    return outcomes


def write_checkpoint() -> int:
    """The hourly signed checkpoint of the history, straight in the scheduler's thread (a file
    write and one scan of `cases`: no flow run needed embedded)."""
    from flows.runtime import current_runtime
    from gkflow.services.checkpoints import write_checkpoint as write

    return int(write(current_runtime())["number"])


def run_sweep() -> int:
    from flows.publication import run_flow
    from flows.sweep import sweep_flow

    return len(run_flow(sweep_flow()))
