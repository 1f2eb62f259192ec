"""lookup_p99.sqlite: a status lookup (case + timeline by case number, as `gkflow case show` and the
status API do it) at GKFLOW_BENCH_CASES cases (default 1,000,000), against the same two queries in
raw sqlite3, measured in the same run."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Sequence

from bench.common import figure, no_options, sqlite_runtime
from bench.seed import QUERY_CODE, case_no, seed_sqlite
from gkflow.services.views import public_case, show_case

N_CASES = int(os.environ.get("GKFLOW_BENCH_CASES", "1000000"))
N_LOOKUPS = 3000


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    no_options("lookup", args)
    n_cases, n_lookups = (2000, 100) if tiny else (N_CASES, N_LOOKUPS)
    rng = random.Random(7)
    with sqlite_runtime() as rt:
        started = time.perf_counter()
        seed_sqlite(rt.engine.url.database, n_cases)
        seeded_s = time.perf_counter() - started
        picks = [case_no(rng.randrange(n_cases)) for _ in range(n_lookups)]
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

        for no in picks:
            # Bring the picked cases' pages into the OS cache once, so the figures compare the work
            # of a look-up on a warm server, not which side happened to read a page first.
            raw_lookup(no)
        timings: dict[str, list[float]] = {"gk": [], "public": [], "raw": []}
        sides = [("gk", gk_lookup), ("public", public_lookup), ("raw", raw_lookup)]
        for i, no in enumerate(picks):
            # Whoever reads a case first pays for its pages coming into the OS cache: take turns.
            for name, fn in sides[i % 3:] + sides[:i % 3]:
                t0 = time.perf_counter()
                fn(no)
                timings[name].append((time.perf_counter() - t0) * 1000)
        conn.close()
        raw_p99 = percentile(timings["raw"], 0.99)
        return [
            figure("lookup_p99.sqlite", percentile(timings["gk"], 0.99), "ms", raw_p99,
                   higher_is_better=False, cases=n_cases, p50=round(percentile(timings["gk"], 0.5), 3),
                   seed_s=round(seeded_s, 1)),
            figure("lookup_p99.sqlite.public", percentile(timings["public"], 0.99), "ms", raw_p99,
                   higher_is_better=False, cases=n_cases),
        ]
