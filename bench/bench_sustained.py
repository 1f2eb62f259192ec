"""sustained.postgres: the production set-up under sustained load on one PostgreSQL.

K client processes drive cases through their whole lifecycle (submit, accept, decide, close) over the
HTTP API with a bearer token, against `gkflow serve --workers N --no-scheduler`, while two
`gkflow outbox dispatch` processes send every step's SMS notice to a loopback gateway. Then the
ceiling, in the same run: the same K clients against a bare FastAPI endpoint that runs the same SQL
transaction per request (bench/sustained_ceiling.py) on the same N uvicorn workers.

One figure per worker count: transitions/s (a submission counts, like every step it is one event of
the chain), HTTP p50/p99, outbox lag p50/p99 (the row's creation in the step's transaction to its
arrival at the gateway), errors (409 conflicts are counted apart), and the gateway against the
outbox: `lost` notices never received, `doubled` ones received more than once. A lost or doubled
notice, or an error, marks the figure as an error, so `make bench` fails.

    python -m bench sustained                               # 60 s, 2 workers (make bench)
    python -m bench sustained --minutes 10 --workers 1 2 4  # the long run
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from bench.common import ROOT, figure, postgres_available, postgres_runtime
from bench.cpu import CpuMeter, with_descendants
from bench.gateway import gateway_process, received
from bench.sustained_clients import ceiling_client, lifecycle_client
from bench.uvicorn import free_port
from gkflow.delivery.outbox import outbox_t
from gkflow.runtime import Runtime
from gkflow.services.accounts import save_user
from gkflow.services.cases import Applicant, submit_case
from gkflow.services.sessions import issue_token

TARGET_RATIO = 0.5
TARGET_LAG_P99_MS = 5000.0
WARMUP_S = 5.0
DRAIN_S = 120.0


def options(args: Sequence[str], tiny: bool) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench sustained")
    parser.add_argument("--minutes", type=float, help="measured time per side (default 1)")
    parser.add_argument("--seconds", type=float, help="the same in seconds")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="web worker counts (default 2)")
    parser.add_argument("--clients", type=int, default=8, help="client processes (default 8)")
    parser.add_argument("--dispatchers", type=int, default=2)
    parsed = parser.parse_args(list(args))
    parsed.seconds = parsed.seconds or (parsed.minutes or 1.0) * 60
    parsed.warmup = WARMUP_S
    if tiny:
        parsed.seconds, parsed.warmup, parsed.workers, parsed.clients = 3.0, 1.0, [1], 2
    return parsed


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    opts = options(args, tiny)
    if not postgres_available():
        return [{"figure": "sustained.postgres", "skipped": "no PostgreSQL reachable"}]
    return [measure(workers, opts) for workers in opts.workers]


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str], log: Path) -> Iterator[list[int]]:
    """Start the commands (their pids); on leaving, SIGINT each (a dispatcher finishes its batch)."""
    with log.open("ab") as out:
        started = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                   for c in commands]
        try:
            yield [p.pid for p in started]
            for process in started:
                if process.poll() is not None:
                    raise RuntimeError(f"{' '.join(process.args)} exited early ({process.returncode}); "
                                       f"see {log}")
        finally:
            for process in started:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in started:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_healthy(port: int, what: str, path: str = "/healthz", timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer on port {port} within {timeout:.0f} s")


def drive(client: Any, per_client_args: list[tuple[Any, ...]], warmup: float, seconds: float,
          meter: CpuMeter) -> tuple[dict[str, Any], float]:
    """Run one client process per argument tuple; (merged tallies, measured seconds). ``meter``
    measures the CPU of each group of processes over the measured window."""
    start = time.time() + 1.5  # the spawned clients are up by then
    measure_from, stop = start + warmup, start + warmup + seconds
    sampler = meter.measure_between(measure_from, stop)
    with multiprocessing.get_context("spawn").Pool(len(per_client_args)) as pool:
        results = pool.starmap(client, [(*a, start, measure_from, stop) for a in per_client_args])
    sampler.join()
    merged: dict[str, Any] = {"latencies_ms": [], "ok": 0, "conflicts": 0, "errors": 0, "error_samples": [],
                              "cases_closed": 0}
    for r in results:
        merged["latencies_ms"] += r["latencies_ms"]
        for key in ("ok", "conflicts", "errors", "cases_closed"):
            merged[key] += r[key]
        merged["error_samples"] = (merged["error_samples"] + r["error_samples"])[:5]
    return merged, seconds


def meter(rt: Runtime, groups: dict[str, list[int]]) -> CpuMeter:
    """CPU of the given process trees, of PostgreSQL's backends serving the benchmark's database, and
    of everything else this benchmark started (the clients, the gateway)."""
    database = rt.engine.url.database

    def backends() -> list[int]:
        with rt.engine.connect() as conn:
            return list(conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,)).scalars())

    def ours(name: str) -> Any:
        return lambda: with_descendants(groups[name])

    def rest() -> list[int]:
        named = {pid for pids in groups.values() for pid in with_descendants(pids)}
        return [pid for pid in with_descendants([os.getpid()]) if pid not in named and pid != os.getpid()]

    return CpuMeter({**{name: ours(name) for name in groups}, "postgres": backends,
                     "clients_and_gateway": rest})


def per_transition(used: dict[str, float], transitions: int) -> dict[str, float]:
    """CPU milliseconds per transition, by group."""
    if not transitions:
        return {}
    return {name: round(seconds * 1000 / transitions, 3) for name, seconds in used.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def notice_accounting(rt: Runtime, gateway_url: str, measure_from: float) -> dict[str, Any]:
    """The gateway against the outbox once drained: lost, doubled, and lags of the measured rows."""
    deadline = time.monotonic() + DRAIN_S
    while True:
        with rt.engine.connect() as conn:
            rows = dict(conn.execute(select(outbox_t.c.idempotency_key, outbox_t.c.created_at)
                                     .where(outbox_t.c.channel == "sms")).all())
        arrivals = received(gateway_url)
        first_arrival: dict[str, float] = {}
        for key, at in arrivals:
            first_arrival.setdefault(key, at)
        lost = [k for k in rows if k not in first_arrival]
        if not lost or time.monotonic() > deadline:
            break
        time.sleep(1)
    lags = [(first_arrival[k] - created.timestamp()) * 1000 for k, created in rows.items()
            if k in first_arrival and created.timestamp() >= measure_from]
    return {"notices": len(rows), "lost": len(lost), "doubled": len(arrivals) - len(first_arrival),
            "strangers": len(set(first_arrival) - set(rows)), "lag_p50_ms": round(percentile(lags, 0.5), 1),
            "lag_p99_ms": round(percentile(lags, 0.99), 1)}


def measure(workers: int, opts: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="gkflow-bench-sustained-"))
    log = work / "processes.log"
    with postgres_runtime() as rt, gateway_process() as gateway_url:
        save_user(rt, "bench", password=secrets.token_urlsafe(16), roles=("handler",),
                  department="基准测试部门")
        token = issue_token(rt, "bench")
        channels = work / "channels.json"
        channels.write_text(json.dumps({
            "sandbox_all": False, "quiet_hours": {"start": "00:00", "end": "00:00"},
            "channels": {"sms": {"gateway_url": gateway_url, "api_key": "bench", "signature": "【基准】"}},
        }), encoding="utf-8")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GKFLOW_")},
               "GKFLOW_DATABASE_URL": rt.settings.db_url, "GKFLOW_CONFIG_DIR": str(rt.settings.config_dir),
               "GKFLOW_VAR_DIR": str(rt.settings.var_dir), "GKFLOW_CHANNELS_FILE": str(channels),
               "PREFECT_HOME": str(work / "prefect")}
        gk = [sys.executable, "-m", "gkflow"]
        port = free_port()
        web = [*gk, "serve", "--workers", str(workers), "--no-scheduler", "--port", str(port)]
        dispatchers = [[*gk, "outbox", "dispatch", "--worker", f"bench-d{i}"]
                       for i in range(opts.dispatchers)]
        with processes([web, *dispatchers], env, log) as (web_pid, *dispatch_pids):
            wait_healthy(port, "gkflow serve")
            started = time.time()
            gk_meter = meter(rt, {"web": [web_pid], "dispatch": dispatch_pids})
            tally, seconds = drive(lifecycle_client, [(port, token, i) for i in range(opts.clients)],
                                   opts.warmup, opts.seconds, gk_meter)
            notices = notice_accounting(rt, gateway_url, started + 1.5 + opts.warmup)
        # The ceiling: the same clients and workers, a bare endpoint, the same transaction per request.
        cases = [[submit_case(rt, "bench-loop", Applicant("基准", "13900000000")).case_no for _ in range(20)]
                 for _ in range(opts.clients)]
        port = free_port()
        bare = [sys.executable, "-m", "uvicorn", "bench.sustained_ceiling:app", "--factory", "--workers",
                str(workers), "--port", str(port), "--log-level", "info"]
        url = rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with processes([bare], {**env, "BENCH_PG_URL": url}, log) as (bare_pid,):
            wait_healthy(port, "the bare endpoint", path="/docs")
            bare_meter = meter(rt, {"web": [bare_pid]})
            ceiling, _ = drive(ceiling_client, [(port, c) for c in cases], opts.warmup, opts.seconds,
                               bare_meter)
    rate, ceiling_rate = tally["ok"] / seconds, ceiling["ok"] / seconds
    line = figure(
        "sustained.postgres", rate, "transitions/s", ceiling_rate, workers=workers, clients=opts.clients,
        dispatchers=opts.dispatchers, seconds=seconds,
        http_p50_ms=round(percentile(tally["latencies_ms"], 0.5), 2),
        http_p99_ms=round(percentile(tally["latencies_ms"], 0.99), 2),
        ceiling_http_p99_ms=round(percentile(ceiling["latencies_ms"], 0.99), 2),
        errors=tally["errors"], conflicts=tally["conflicts"], cases_closed=tally["cases_closed"], **notices,
        cpu_ms_per_transition=per_transition(gk_meter.used, tally["ok"]),
        ceiling_cpu_ms_per_transition=per_transition(bare_meter.used, ceiling["ok"]),
    ) if ceiling_rate else {"figure": "sustained.postgres", "error": "the ceiling completed no request"}
    problems = [f"{tally['errors']} errors: {tally['error_samples']}" if tally["errors"] else "",
                f"{ceiling['errors']} ceiling errors: {ceiling['error_samples']}"
                if ceiling["errors"] else "",
                f"{notices['lost']} notices lost" if notices["lost"] else "",
                f"{notices['doubled']} notices doubled" if notices["doubled"] else ""]
    if any(problems):
        line["error"] = "; ".join(p for p in problems if p) + f" (process log: {log})"
    line["targets_met"] = bool(line.get("ratio", 0) >= TARGET_RATIO
                               and line.get("lag_p99_ms", 1e9) <= TARGET_LAG_P99_MS)
    if "error" not in line:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return line


if __name__ == "__main__":
    for result in run(args=sys.argv[1:]):
        print(json.dumps(result, ensure_ascii=False))
