"""The ceiling of bench_sustained: a bare FastAPI endpoint running the same SQL transaction as one
gkflow transition (case UPDATE + event + outbox row, bench_transitions.raw_transition) per request,
served by uvicorn with the same number of workers as gkflow.

    uvicorn bench.sustained_ceiling:app --factory --workers N     (BENCH_PG_URL names the database)
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from itertools import count
from typing import Any

import psycopg
from fastapi import FastAPI
from pydantic import BaseModel

from bench.bench_transitions import raw_transition


class Step(BaseModel):
    expected_version: int | None = None
    fields: dict[str, str] | None = None


def app() -> FastAPI:
    url = os.environ["BENCH_PG_URL"]
    local = threading.local()
    numbers = count()
    api = FastAPI()

    def connection() -> psycopg.Connection[Any]:
        # One connection per thread of the pool, as SQLAlchemy's pool gives gkflow's handlers.
        if getattr(local, "conn", None) is None:
            local.conn = psycopg.connect(url)
        conn: psycopg.Connection[Any] = local.conn
        return conn

    # A plain `def`, like gkflow's action endpoint: FastAPI runs it in its thread pool.
    @api.post("/t/{case_no}")
    def step(case_no: str, body: Step) -> dict[str, Any]:
        conn = connection()
        with conn.cursor() as cur:
            raw_transition(cur, "%s", case_no, next(numbers), datetime.now(UTC))
        conn.commit()
        return {"case_no": case_no, "fields": body.fields}

    return api
