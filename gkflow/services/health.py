"""Health of the process's dependencies, for `GET /healthz` and the process managers."""

from __future__ import annotations

from sqlalchemy import text

from gkflow.runtime import Runtime


def database_answers(rt: Runtime) -> bool:
    """Whether the database answers a trivial query (an error propagates: the caller reports it)."""
    with rt.engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1
