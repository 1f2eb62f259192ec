"""Milestone triggers (construction.milestone outbox rows) as a Prefect flow, started by a cheap poll."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow

from flows.publication import as_prefect_task, run_flow, run_id
from flows.runtime import current_runtime
from gkflow.publication.triggers import MILESTONE_TOPIC, consume_milestones, due_milestones


@flow(name="milestone-publications")
async def milestone_flow(limit: int = 20) -> list[dict[str, Any]]:
    rt = current_runtime()
    return await asyncio.to_thread(consume_milestones, rt, limit=limit, step=as_prefect_task,
                                   flow_run_id=run_id())


def poll_milestones() -> int:
    """Run the flow only when a trigger is due, so idle minutes make no empty flow runs."""
    rt = current_runtime()
    if due_milestones(rt) == 0:
        return 0
    return len(run_flow(milestone_flow()))


__all__ = ["MILESTONE_TOPIC", "milestone_flow", "poll_milestones"]
