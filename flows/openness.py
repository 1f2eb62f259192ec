"""行政许可结果公示 (licence.granted outbox rows) as a Prefect flow, started by a cheap poll."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow

from flows.publication import run_flow
from flows.runtime import current_runtime
from gkflow.services.licence_publicity import consume_licence_decisions, due_licence_decisions


@flow(name="licence-decisions")
async def licence_flow(limit: int = 20) -> list[dict[str, Any]]:
    """Publish every due licence decision and close its directory ledger row."""
    rt = current_runtime()
    return await asyncio.to_thread(consume_licence_decisions, rt, limit=limit)


def poll_licence_decisions() -> int:
    """Run the flow only when a trigger is due, so idle minutes make no empty flow runs."""
    rt = current_runtime()
    if due_licence_decisions(rt) == 0:
        return 0
    return len(run_flow(licence_flow()))
