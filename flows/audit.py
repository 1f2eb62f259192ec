"""The hourly checkpoint of the history as a Prefect flow (a deployment on a Prefect server)."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow

from flows.runtime import current_runtime
from gkflow.services.checkpoints import write_checkpoint


@flow(name="audit-checkpoint")
async def checkpoint_flow() -> dict[str, Any]:
    """Seal every chain head in a signed checkpoint and publish its root (async: no heartbeat wait)."""
    return await asyncio.to_thread(write_checkpoint, current_runtime())
