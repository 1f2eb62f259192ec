"""The client processes of bench_sustained: closed loops of HTTP requests over one kept-alive
connection each. Standard library only, so that a spawned client starts in a fraction of a second
and spends its CPU on requests, not on imports."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

# (action, fields) after the submission; mirrors bench.common.LIFECYCLE_STEPS (not imported: it
# would pull gkflow into every client process).
STEPS = (("accept", {}), ("decide", {"outcome": "准予许可"}), ("close", {}))


class Tally:
    """What one client saw: latencies of requests finished in the measured window, and outcomes."""

    def __init__(self, measure_from: float, measure_until: float) -> None:
        self.measure_from = measure_from
        self.measure_until = measure_until
        self.latencies_ms: list[float] = []
        self.ok = 0
        self.conflicts = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.cases_closed = 0

    def record(self, started: float, status: int, body: bytes) -> None:
        done = time.time()
        if not self.measure_from <= done <= self.measure_until:
            return
        self.latencies_ms.append((done - started) * 1000)
        if 200 <= status < 300:
            self.ok += 1
        elif status == 409:
            self.conflicts += 1
        else:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{status}: {body[:300].decode(errors='replace')}")

    def result(self) -> dict[str, Any]:
        return {"latencies_ms": self.latencies_ms, "ok": self.ok, "conflicts": self.conflicts,
                "errors": self.errors, "error_samples": self.error_samples, "cases_closed": self.cases_closed}


class _Connection:
    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json", **headers}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, f"{type(exc).__name__}: {exc}".encode()


def _wait_until(at: float) -> None:
    pause = at - time.time()
    if pause > 0:
        time.sleep(pause)


def lifecycle_client(port: int, token: str, client_no: int, start: float, measure_from: float,
                     stop: float) -> dict[str, Any]:
    """Submit a case, take it through every step to its end, repeat until ``stop``."""
    tally = Tally(measure_from, stop)
    http_ = _Connection(port, {"Authorization": f"Bearer {token}"})
    _wait_until(start)
    n = 0
    while time.time() < stop:
        n += 1
        t0 = time.time()
        status, body = http_.post("/api/cases", {"item": "bench-life", "name": "基准",
                                                 "phone": f"139{client_no:03d}{n % 100000:05d}"})
        tally.record(t0, status, body)
        if status != 201:
            continue
        case = json.loads(body)
        for action, fields in STEPS:
            t0 = time.time()
            status, body = http_.post(f"/api/cases/{case['case_no']}/actions/{action}",
                                      {"expected_version": case["version"], "fields": fields})
            tally.record(t0, status, body)
            if status != 200:
                break
            case = json.loads(body)
        else:
            tally.cases_closed += measure_from <= time.time() <= stop
    return tally.result()


def ceiling_client(port: int, case_nos: list[str], start: float, measure_from: float,
                   stop: float) -> dict[str, Any]:
    """The same loop against the bare endpoint: one transition per request, over the client's cases."""
    tally = Tally(measure_from, stop)
    http_ = _Connection(port, {"Authorization": "Bearer ceiling"})
    _wait_until(start)
    i = 0
    while time.time() < stop:
        t0 = time.time()
        status, body = http_.post(f"/t/{case_nos[i % len(case_nos)]}", {"expected_version": None,
                                                                       "fields": {"outcome": "准予许可"}})
        tally.record(t0, status, body)
        i += 1
    return tally.result()
