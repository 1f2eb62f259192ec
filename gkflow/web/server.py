"""`gkflow serve`: uvicorn running the web app in one or several worker processes.

Every worker builds its app from the GKFLOW_* settings (`served_app`, a factory uvicorn calls in
each process). Unless the embedded scheduler is off, every worker also runs a leader election and
the one that wins runs the scheduler (gkflow.scheduling.election); uvicorn restarts a worker that
dies, and the election hands the scheduler to a survivor.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from gkflow.runtime import runtime_from_env
from gkflow.services.public_links import public_link_warnings
from gkflow.web.app import create_app


def served_app() -> FastAPI:
    """The app of one worker process, with its share in the scheduler election."""
    rt = runtime_from_env()
    election = None
    if rt.settings.embedded_scheduler:
        from gkflow.scheduling.prefect_env import configure_prefect_env

        configure_prefect_env(rt.settings.var_dir)  # before the scheduler's flows import prefect
        from gkflow.scheduling.election import ElectedScheduler

        election = ElectedScheduler(rt, warm_prefect=rt.settings.prefect_warm_up)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if election is not None:
            election.start()
        try:
            yield
        finally:
            if election is not None:
                election.stop()

    app = create_app(rt, lifespan=lifespan)
    app.state.election = election
    return app


def run_server(host: str, port: int, with_scheduler: bool, workers: int = 1) -> None:
    """Serve until stopped; with ``workers`` > 1 uvicorn supervises that many processes."""
    from gkflow.services.accounts import refuse_demo_accounts_off_loopback

    rt = runtime_from_env()
    refuse_demo_accounts_off_loopback(rt, host)
    for line in public_link_warnings(rt.settings):
        print(line, file=sys.stderr)
    if not with_scheduler:
        os.environ["GKFLOW_EMBEDDED_SCHEDULER"] = "false"  # read by every worker's Settings
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; gkflow
    # believes it only from GKFLOW_TRUSTED_PROXIES (gkflow.web.deps.client_key). Each worker's app
    # installs the log filters (create_app) after uvicorn has set its loggers up.
    uvicorn.run("gkflow.web.server:served_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False)
