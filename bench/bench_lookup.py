"""lookup_p99.sqlite: a status lookup (case + timeline by case number, as `gkflow case show` and the
status API do it) at GKFLOW_BENCH_CASES cases (default 1,000,000), against the same two queries in
raw sqlite3, measured in the same run."""

from __future__ import annotations

import os
import random
import sqlite3
import time

from bench.common import figure, sqlite_runtime
from bench.seed import QUERY_CODE, case_no, seed_sqlite
from gkflow.services.views import public_case, show_case

N_CASES = int(os.environ.get("GKFLOW_BENCH_CASES", "1000000"))
N_LOOKUPS = 3000


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run() -> list[dict[str, object]]:
    rng = random.Random(7)
    with sqlite_runtime() as rt:
        started = time.perf_counter()
        seed_sqlite(rt.engine.url.database, N_CASES)
        seeded_s = time.perf_counter() - started
        picks = [case_no(rng.randrange(N_CASES)) for _ in range(N_LOOKUPS)]
        show_case(rt, picks[0])  # warm the catalogue and calendar caches

        def gk_lookup(no: str) -> None:
            view = show_case(rt, no)
            assert len(view.timeline) == 2

        def public_lookup(no: str) -> None:
            public_case(rt, no, QUERY_CODE)

        conn = sqlite3.connect(rt.engine.url.database)

        def raw_lookup(no: str) -> None:
            row = conn.execute("SELECT * FROM cases WHERE case_no = ?", (no,)).fetchone()
            events = conn.execute("SELECT * FROM events WHERE case_id = ? ORDER BY seq", (row[0],)).fetchall()
            assert len(events) == 2

        timings: dict[str, list[float]] = {"gk": [], "public": [], "raw": []}
        for no in picks:
            for name, fn in (("gk", gk_lookup), ("public", public_lookup), ("raw", raw_lookup)):
                t0 = time.perf_counter()
                fn(no)
                timings[name].append((time.perf_counter() - t0) * 1000)
        conn.close()
        raw_p99 = percentile(timings["raw"], 0.99)
        return [
            figure("lookup_p99.sqlite", percentile(timings["gk"], 0.99), "ms", raw_p99,
                   higher_is_better=False, cases=N_CASES, p50=round(percentile(timings["gk"], 0.5), 3),
                   seed_s=round(seeded_s, 1)),
            figure("lookup_p99.sqlite.public", percentile(timings["public"], 0.99), "ms", raw_p99,
                   higher_is_better=False, cases=N_CASES),
        ]
