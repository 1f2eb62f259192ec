"""`gkflow outbox dispatch` as real processes: killed with SIGKILL mid-batch and restarted, and the
commit-to-gateway latency with polling dispatchers, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gkflow.delivery import outbox
from gkflow.runtime import Runtime
from tests.conftest import ROOT
from tests.helpers import stop_process, submit, wait_for

t = outbox.outbox_t
pytestmark = pytest.mark.slow  # starts dispatcher processes and a gateway; seconds per test


@dataclass
class Gateway:
    """A threaded SMS gateway on 127.0.0.1 that records every request's key and arrival time."""

    delay_s: float = 0.0
    requests: list[tuple[str, str, float]] = field(default_factory=list)  # (key, text, arrived)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def keys(self) -> list[str]:
        with self.lock:
            return [key for key, _, _ in self.requests]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802
            arrived = time.time()
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests.append((self.headers["Idempotency-Key"], body["text"], arrived))
            time.sleep(state.delay_s)
            answer = json.dumps({"id": body["idempotency_key"], "status": "delivered"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def handle(self) -> None:
            with contextlib.suppress(OSError):  # the dispatcher was killed mid-request
                super().handle()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    yield state
    server.shutdown()
    server.server_close()


def dispatcher_env(rt: Runtime, tmp_path: Path, gateway: Gateway, *, lease: int = 5, batch: int = 20,
                   poll: float = 0.5) -> dict[str, str]:
    channels = tmp_path / "channels.yaml"
    channels.write_text(json.dumps({
        "sandbox_all": False,
        "dispatch": {"batch_size": batch, "lease_seconds": lease, "poll_seconds": poll,
                     "senders_per_channel": 2},
        "quiet_hours": {"start": "00:00", "end": "00:00"},
        "channels": {"sms": {"gateway_url": gateway.url, "api_key": "test-key", "timeout": [2, 5]}},
    }), encoding="utf-8")
    env = {**os.environ, "GKFLOW_DATABASE_URL": rt.settings.db_url, "GKFLOW_CHANNELS_FILE": str(channels),
           "GKFLOW_VAR_DIR": str(rt.settings.var_dir), "GKFLOW_CONFIG_DIR": str(rt.settings.config_dir)}
    return env


def start_dispatcher(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gkflow", "outbox", "dispatch", "--json", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def submit_many(rt: Runtime, n: int) -> list[str]:
    return [submit(rt, fields={"requested_information": f"第{i}份文件"}).case_no for i in range(n)]


def statuses(rt: Runtime) -> dict[str, int]:
    with rt.engine.connect() as conn:
        return dict(conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all())


def stop_dispatcher(process: subprocess.Popen[str]) -> str:
    """Ctrl-C: a polling dispatcher finishes its batch and exits cleanly."""
    out, err = stop_process(process, sig=signal.SIGINT, timeout=20)
    assert process.returncode == 0, err
    return out


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_a_resend_carries_the_same_key(rt, tmp_path, gateway):
    gateway.delay_s = 0.05
    case_nos = submit_many(rt, 60)
    env = dispatcher_env(rt, tmp_path, gateway, lease=5, batch=20)
    first = start_dispatcher(env, "--once", "--worker", "doomed")
    wait_for(lambda: len(gateway.keys()) >= 15, 30, "the first sends")
    stop_process(first, sig=signal.SIGKILL, timeout=10)
    before = statuses(rt)
    assert before.get("sending", 0) > 0, f"the kill came too late to test anything: {before}"

    second = start_dispatcher(env, "--worker", "survivor")  # polls; re-claims once the leases expire
    try:
        wait_for(lambda: statuses(rt) == {"delivered": 60}, 40, "every message delivered")
    finally:
        stop_dispatcher(second)
    with rt.engine.connect() as conn:
        keys = dict(conn.execute(select(t.c.case_no, t.c.idempotency_key)).all())
        reclaimed = conn.execute(select(func.count()).select_from(t).where(t.c.attempts > 1)).scalar_one()
    assert set(keys) == set(case_nos) and reclaimed > 0
    sent_keys: dict[str, set[str]] = {}
    for key, text, _ in gateway.requests:
        case_no = next(c for c in case_nos if c in text)
        sent_keys.setdefault(case_no, set()).add(key)
    # Every message reached the gateway, and each one only ever under its own key.
    assert sent_keys == {c: {keys[c]} for c in case_nos}
    duplicates = len(gateway.requests) - len(case_nos)
    assert 0 <= duplicates <= 20  # at most what the killed process held in flight


def measure_latency(rt: Runtime, tmp_path: Path, gateway: Gateway, dispatchers: int) -> float:
    env = dispatcher_env(rt, tmp_path, gateway, poll=1.0)
    processes = [start_dispatcher(env, "--worker", f"d{i}") for i in range(dispatchers)]
    try:
        submit_many(rt, 1)  # the dispatchers are up once this one arrives
        wait_for(lambda: len(gateway.keys()) == 1, 30, "the warm-up notice")
        committed: dict[str, float] = {}
        for _ in range(20):
            [case_no] = submit_many(rt, 1)
            committed[f"{case_no}/1/accepted/sms"] = time.time()
            time.sleep(0.15)
        wait_for(lambda: len(set(gateway.keys())) == 21, 30, "every notice")
    finally:
        for process in processes:
            stop_dispatcher(process)
    assert len(gateway.keys()) == len(set(gateway.keys()))  # several pollers, still nothing sent twice
    arrived = {key: at for key, _, at in gateway.requests if key in committed}
    latencies = sorted(arrived[key] - committed[key] for key in committed)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"commit->gateway with {dispatchers} dispatcher(s) on {rt.engine.dialect.name}: "
          f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s")
    return p95


def test_a_notice_leaves_within_five_seconds_of_its_commit_in_the_embedded_set_up(sqlite_rt, tmp_path,
                                                                                   gateway):
    assert measure_latency(sqlite_rt, tmp_path, gateway, dispatchers=1) < 5.0


def test_a_notice_leaves_within_five_seconds_with_several_dispatchers_on_postgres(pg_rt, tmp_path, gateway):
    assert measure_latency(pg_rt, tmp_path, gateway, dispatchers=2) < 5.0
