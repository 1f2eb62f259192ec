"""`gkflow serve`: uvicorn running the web app on the embedded defaults."""

from __future__ import annotations

import uvicorn

from gkflow.runtime import runtime_from_env
from gkflow.web.app import create_app


def run_server(host: str, port: int, with_scheduler: bool) -> None:
    rt = runtime_from_env()
    app = create_app(rt)
    uvicorn.run(app, host=host, port=port, log_level="info")
