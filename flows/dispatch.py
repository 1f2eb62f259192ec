"""Dispatch as a Prefect flow, started by a cheap poll only when notices are due (DESIGN.md section 4).

A flow run costs about a second (PREFECT.md), so the embedded scheduler calls ``poll_and_dispatch``
every few seconds: an indexed count, and a flow run only when there is work. A run drains whole
batches, one Prefect task per batch; messages are never tasks of their own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from flows.runtime import current_runtime
from gkflow.delivery.config import ChannelsConfig, load_channels_config
from gkflow.delivery.dispatcher import Dispatcher, default_worker

_config: ChannelsConfig | None = None


def channels_config() -> ChannelsConfig:
    """Loaded once per process, so channel sessions (kept-alive connections) live across runs."""
    global _config
    if _config is None:
        _config = load_channels_config(current_runtime().settings)
    return _config


def use_channels_config(config: ChannelsConfig | None) -> None:
    """Install a configuration for flows run in this process (None: load it again from settings)."""
    global _config
    _config = config


@task(name="dispatch-batch", cache_policy=NONE, persist_result=False)
def dispatch_batch_task(worker: str, limit: int) -> dict[str, Any]:
    return Dispatcher(current_runtime(), channels_config()).run_batch(worker=worker, limit=limit).to_dict()


@flow(name="dispatch-outbox")
async def dispatch_outbox(limit: int = 100, max_batches: int = 50) -> dict[str, Any]:
    """Deliver due notices batch by batch until a batch comes back short or ``max_batches`` ran.

    Async so that a run costs ≈ 0.3 s of Prefect overhead with heartbeats on, not ≥ 1.15 s
    (PREFECT.md); the blocking batch work runs in a thread."""
    worker = default_worker()
    total: dict[str, Any] = {"batches": 0, "claimed": 0, "delivered": 0, "accepted": 0, "held": 0,
                             "retrying": 0, "failed": 0, "dead": 0, "lost": 0, "errors": []}
    for _ in range(max_batches):
        report = await asyncio.to_thread(dispatch_batch_task, worker, limit)
        for key in total:
            total[key] = (total[key] + report[key])[:20] if key == "errors" else total[key] + report[key]
        if report["claimed"] < limit:
            break
    return total


def poll_and_dispatch(limit: int = 100, max_batches: int = 50) -> int:
    """The scheduler's job: count due rows (cheap) and run the flow only when there are some.
    Returns how many rows the run claimed (0 without a run)."""
    if Dispatcher(current_runtime(), channels_config()).due() == 0:
        return 0
    return int(asyncio.run(dispatch_outbox(limit=limit, max_batches=max_batches))["claimed"])


__all__ = ["dispatch_outbox", "poll_and_dispatch", "use_channels_config"]
