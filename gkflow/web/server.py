"""`gkflow serve`: uvicorn running the web app on the embedded defaults."""

from __future__ import annotations

import sys

import uvicorn

from gkflow.runtime import runtime_from_env
from gkflow.services.public_links import public_link_warnings
from gkflow.web.app import create_app
from gkflow.web.log_filters import install_log_filters


def run_server(host: str, port: int, with_scheduler: bool) -> None:
    from gkflow.services.accounts import refuse_demo_accounts_off_loopback

    rt = runtime_from_env()
    refuse_demo_accounts_off_loopback(rt, host)
    for line in public_link_warnings(rt.settings):
        print(line, file=sys.stderr)
    app = create_app(rt)
    scheduler = None
    if with_scheduler:
        from gkflow.scheduling.prefect_env import configure_prefect_env

        configure_prefect_env(rt.settings.var_dir)  # before the scheduler's flows import prefect
        from gkflow.scheduling.embedded import EmbeddedScheduler

        scheduler = EmbeddedScheduler(rt, warm_prefect=True)
        scheduler.start()
    try:
        # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; gkflow
        # believes it only from GKFLOW_TRUSTED_PROXIES (gkflow.web.deps.client_key).
        config = uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=False)
        server = uvicorn.Server(config)  # the config sets up uvicorn's loggers: filter them after it
        install_log_filters()
        server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown()
