"""Seed many cases fast (raw executemany) for lookup benchmarks; rows look like gkflow's own (with
the unkeyed chain of before the keyed one, which `audit verify` still accepts)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

from gkflow.domain.events import GENESIS_HASH
from gkflow.domain.events import legacy_event_hash as event_hash
from gkflow.domain.identifiers import hash_query_code

CASE_COLUMNS = (
    "case_no", "query_hash", "item_code", "item_version", "department", "state", "version",
    "applicant_name", "applicant_phone", "intake_channel", "fields", "received_at", "received_on",
    "clock_running", "statutory_days", "statutory_anchor", "statutory_used", "promised_days",
    "promised_anchor", "promised_used", "extended", "statutory_due", "statutory_due_provisional",
    "promised_due", "promised_due_provisional", "step_entered_on", "step_due_provisional", "step_seq",
    "last_seq", "last_hash", "updated_at",
)
EVENT_COLUMNS = ("case_id", "seq", "action", "from_state", "to_state", "actor", "role", "at", "comment",
                 "fields", "prev_hash", "hash")
QUERY_CODE = "BENCH234"


def case_no(i: int) -> str:
    return f"GK20260302-B{i:08d}"


def seed_sqlite(path: str, n: int, batch: int = 20_000) -> None:
    """n cases of the bench-loop item, each with a submit and a touch event (valid hash chains)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM cases").fetchone()[0]
    received = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    at_text = received.strftime("%Y-%m-%d %H:%M:%S.%f")
    touched = received + timedelta(hours=2)
    touched_text = touched.strftime("%Y-%m-%d %H:%M:%S.%f")
    day = date(2026, 3, 2).isoformat()
    case_sql = (f"INSERT INTO cases (id, {', '.join(CASE_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' for _ in CASE_COLUMNS)})")
    event_sql = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})")
    for first in range(0, n, batch):
        cases, events = [], []
        for i in range(first, min(first + batch, n)):
            no = case_no(i)
            case_id = start + i + 1
            h1 = event_hash(GENESIS_HASH, no, 1, "submit", None, "open", "applicant", "applicant",
                            received, None, {})
            h2 = event_hash(h1, no, 2, "touch", "open", "open", "bench", "handler", touched, None,
                            {"note": "x"})
            cases.append((case_id, no, hash_query_code(no, QUERY_CODE), "bench-loop", 1, "基准测试部门",
                          "open", 2, "基准", "13900000000", "window", "{}", at_text, day, 1, 20, day, 0,
                          10, day, 0, 0, "2026-03-30", 0, "2026-03-16", 0, day, 0, 1, 2, h2, touched_text))
            events.append((case_id, 1, "submit", None, "open", "applicant", "applicant", at_text, None,
                           "{}", GENESIS_HASH, h1))
            events.append((case_id, 2, "touch", "open", "open", "bench", "handler", touched_text, None,
                           '{"note": "x"}', h1, h2))
        conn.execute("BEGIN")
        conn.executemany(case_sql, cases)
        conn.executemany(event_sql, events)
        conn.execute("COMMIT")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("ANALYZE")
    conn.close()
