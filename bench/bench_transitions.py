"""transitions.sqlite / transitions.postgres: one transition (case UPDATE + hash-chained event +
outbox row) per transaction through gkflow's `fire`, against the same statements in raw SQL
(sqlite3 / psycopg) on the same schema, measured in the same run."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.common import figure, no_options, postgres_available, postgres_runtime, sqlite_runtime
from gkflow.domain.cases import Actor
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, fire, submit_case

N_CASES = 50
N_TRANSITIONS = int(os.environ.get("GKFLOW_BENCH_TRANSITIONS", "3000"))
ACTOR = Actor("bench", "handler", "基准测试部门")


def seed(rt: Runtime, n: int) -> list[str]:
    return [submit_case(rt, "bench-loop", Applicant("基准", "13900000000")).case_no for _ in range(n)]


def run_gkflow(rt: Runtime, case_nos: list[str], n: int) -> float:
    fire(rt, case_nos[0], "touch", ACTOR, fields={"note": "warm-up"})
    start = time.perf_counter()
    for i in range(n):
        fire(rt, case_nos[i % len(case_nos)], "touch", ACTOR, fields={"note": f"n{i}"})
    return n / (time.perf_counter() - start)


SELECT = "SELECT id, version, last_seq, last_hash FROM cases WHERE case_no = {p}"
UPDATE = ("UPDATE cases SET state = {p}, version = {p}, last_seq = {p}, last_hash = {p}, updated_at = {p}"
          " WHERE id = {p} AND version = {p}")
INSERT_EVENT = ("INSERT INTO events (case_id, seq, action, from_state, to_state, actor, role, at, comment,"
                " fields, prev_hash, hash)"
                " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})")
INSERT_OUTBOX = ("INSERT INTO outbox (created_at, case_id, case_no, event_seq, kind, topic, channel,"
                 " recipient, payload, idempotency_key, status, attempts, next_attempt_at, updated_at)"
                 " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})")


def raw_transition(cur, p: str, case_no: str, i: int, now) -> None:  # type: ignore[no-untyped-def]
    cur.execute(SELECT.format(p=p), (case_no,))
    case_id, version, last_seq, last_hash = cur.fetchone()
    seq = last_seq + 1
    new_hash = hashlib.sha256(f"{last_hash}{i}".encode()).hexdigest()
    cur.execute(UPDATE.format(p=p), ("open", version + 1, seq, new_hash, now, case_id, version))
    fields = json.dumps({"note": f"n{i}"})
    cur.execute(INSERT_EVENT.format(p=p), (case_id, seq, "touch", "open", "open", "bench", "handler",
                                           now, None, fields, last_hash, new_hash))
    cur.execute(INSERT_OUTBOX.format(p=p), (now, case_id, case_no, seq, "notice", "accepted", "sms",
                                            "13900000000", "{}", f"raw/{case_no}/{seq}", "created", 0,
                                            now, now))


def run_raw_sqlite(rt: Runtime, case_nos: list[str], n: int) -> float:
    import sqlite3

    path = rt.engine.url.database
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    cur = conn.cursor()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    start = time.perf_counter()
    for i in range(n):
        cur.execute("BEGIN IMMEDIATE")
        raw_transition(cur, "?", case_nos[i % len(case_nos)], i, now)
        cur.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def run_raw_postgres(rt: Runtime, case_nos: list[str], n: int) -> float:
    import psycopg

    url = rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        cur = conn.cursor()
        start = time.perf_counter()
        for i in range(n):
            raw_transition(cur, "%s", case_nos[i % len(case_nos)], i, now)
            conn.commit()
        return n / (time.perf_counter() - start)


def measure(rt: Runtime, raw, name: str, n: int, n_cases: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    gk_cases = seed(rt, n_cases)
    raw_cases = seed(rt, n_cases)
    # Interleave two rounds each so machine noise hits both sides alike.
    half = n // 2
    gk = [run_gkflow(rt, gk_cases, half)]
    ceiling = [raw(rt, raw_cases, half)]
    gk.append(run_gkflow(rt, gk_cases, half))
    ceiling.append(raw(rt, raw_cases, half))
    return figure(name, max(gk), "transitions/s", max(ceiling), n=n)


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    no_options("transitions", args)
    n, n_cases = (40, 5) if tiny else (N_TRANSITIONS, N_CASES)
    results = []
    with sqlite_runtime() as rt:
        results.append(measure(rt, run_raw_sqlite, "transitions.sqlite", n, n_cases))
    if postgres_available():
        with postgres_runtime() as rt:
            results.append(measure(rt, run_raw_postgres, "transitions.postgres", n, n_cases))
    else:
        results.append({"figure": "transitions.postgres", "skipped": "no PostgreSQL reachable"})
    return results
