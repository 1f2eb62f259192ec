"""lookup_p99.http: p99 latency of the applicant status API and status page under an open-loop load of
200 requests per second on loopback, at 1,000,000 cases (GKFLOW_BENCH_CASES), against the p99 of a bare
FastAPI/uvicorn endpoint returning a constant, measured the same way in the same run."""

from __future__ import annotations

import http.client
import os
import queue
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import figure, no_options, sqlite_runtime
from bench.seed import QUERY_CODE, case_no, seed_sqlite
from bench.uvicorn import serve

N_CASES = int(os.environ.get("GKFLOW_BENCH_CASES", "1000000"))
RATE = 200  # requests per second
DURATION_S = 15.0
WARMUP_S = 3.0
CLIENT_THREADS = 24
# The query code travels in a header (a code in a page URL is moved out of it by a redirect).
HEADERS = {"X-Query-Code": QUERY_CODE}
ROOT = Path(__file__).resolve().parent.parent


def bare_app():  # type: ignore[no-untyped-def]
    """The ceiling: the least a FastAPI endpoint on uvicorn can do."""
    from fastapi import FastAPI

    app = FastAPI()

    # async like the look-ups it is compared with, so the ceiling pays no thread-pool hand-off either.
    @app.get("/const")
    async def const() -> dict[str, bool]:
        return {"ok": True}

    return app


def gkflow_app():  # type: ignore[no-untyped-def]
    from gkflow.runtime import runtime_from_env
    from gkflow.web.app import create_app

    return create_app(runtime_from_env())


def load(port: int, paths: list[str], *, rate: float, duration_s: float) -> dict[str, object]:
    """Open loop: request i is due at start + i/rate; latency counts from that due time, so a slow
    server cannot hide its queueing (no coordinated omission)."""
    jobs: queue.Queue[tuple[float, str] | None] = queue.Queue()
    samples: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while (job := jobs.get()) is not None:
            due, path = job
            try:
                conn.request("GET", path, headers=HEADERS)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = 0
            elapsed = time.perf_counter() - due
            with lock:
                samples.append((path, elapsed, status))
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    total = int(rate * duration_s)
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put((due, paths[i % len(paths)]))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=30)
    wall = time.perf_counter() - start
    return {"samples": samples, "rps": len(samples) / wall}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 3)


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    no_options("web", args)
    n_cases, rate, duration_s, warmup_s = (2000, RATE, 1.0, 0.5) if tiny else (N_CASES, RATE, DURATION_S,
                                                                                 WARMUP_S)
    rng = random.Random(11)
    with sqlite_runtime() as rt:
        started = time.perf_counter()
        seed_sqlite(rt.engine.url.database, n_cases)
        seeded_s = time.perf_counter() - started
        env = {
            "GKFLOW_DATABASE_URL": rt.settings.db_url,
            "GKFLOW_CONFIG_DIR": str(rt.settings.config_dir),
            "GKFLOW_VAR_DIR": str(rt.settings.var_dir),
        }
        picks = [case_no(rng.randrange(n_cases)) for _ in range(int(rate * (duration_s + warmup_s)) + 1)]
        paths = [
            f"/api/cases/{no}" if i % 2 == 0 else f"/status/{no}"
            for i, no in enumerate(picks)
        ]
        with serve("bench.bench_web:gkflow_app", env) as port:
            load(port, paths[: int(rate * warmup_s)], rate=rate, duration_s=warmup_s)
            measured = load(port, paths[int(rate * warmup_s) :], rate=rate, duration_s=duration_s)
        with serve("bench.bench_web:bare_app", {}) as port:
            load(port, ["/const"], rate=rate, duration_s=warmup_s)
            bare = load(port, ["/const"], rate=rate, duration_s=duration_s)
    samples = measured["samples"]  # type: ignore[index]
    bad = sum(1 for _, _, status in samples if status != 200)  # type: ignore[misc]
    api = [s for p, s, _ in samples if p.startswith("/api/")]  # type: ignore[misc]
    page = [s for p, s, _ in samples if p.startswith("/status/")]  # type: ignore[misc]
    every = api + page
    ceiling = [s for _, s, _ in bare["samples"]]  # type: ignore[misc]
    if bad:
        raise RuntimeError(f"{bad} of {len(samples)} status requests did not answer 200")
    return [
        figure(
            "lookup_p99.http",
            _ms(every, 0.99),
            "ms",
            _ms(ceiling, 0.99),
            higher_is_better=False,
            cases=n_cases,
            rate_rps=rate,
            achieved_rps=round(measured["rps"], 1),  # type: ignore[arg-type]
            requests=len(every),
            p50_ms=_ms(every, 0.5),
            api_p99_ms=_ms(api, 0.99),
            page_p99_ms=_ms(page, 0.99),
            ceiling_p50_ms=_ms(ceiling, 0.5),
            target_p99_ms=20,
            seed_s=round(seeded_s, 1),
        )
    ]


if __name__ == "__main__":
    import json

    for line in run():
        print(json.dumps(line, ensure_ascii=False))
