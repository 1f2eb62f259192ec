"""The deadline sweep as a Prefect flow: raise due yellow/red warnings exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from prefect import flow

from flows.runtime import current_runtime
from gkflow.services.sweep import sweep


@flow(name="deadline-sweep")
async def sweep_flow(at: str | None = None) -> list[dict[str, Any]]:
    """Async for the same reason as the publication flows (no 1 s heartbeat wait per run)."""
    rt = current_runtime()
    now = datetime.fromisoformat(at) if at else None
    return [w.to_dict() for w in await asyncio.to_thread(sweep, rt, now=now)]
