"""A loopback SMS gateway in its own process for benchmarks: it answers every POST as delivered and
records each request's idempotency key and arrival time; GET answers the records as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


class _Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK
    records: list[tuple[str, float]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = self.headers.get("Idempotency-Key", "")
        with self.lock:
            self.records.append((key, time.time()))
        self._answer(json.dumps({"id": key, "status": "delivered"}).encode())

    def do_GET(self) -> None:  # noqa: N802
        with self.lock:
            payload = json.dumps(self.records).encode()
        self._answer(payload)

    def _answer(self, payload: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def serve() -> None:
    """Run in a child process: print the port, serve until stdin closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


@contextmanager
def gateway_process() -> Iterator[str]:
    """The gateway's URL while it runs in its own process (it does not share the benchmark's GIL)."""
    process = subprocess.Popen([sys.executable, "-c", "from bench.gateway import serve; serve()"], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}/sms"
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def received(url: str) -> list[tuple[str, float]]:
    """Every (idempotency key, arrival time) the gateway has answered, in arrival order."""
    return [(key, at) for key, at in requests.get(url, timeout=30).json()]
