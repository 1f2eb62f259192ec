"""Helpers shared by the tests (import them; fixtures live in the conftest files)."""

from __future__ import annotations

import csv
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, text

from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, Submitted, submit_case

T = TypeVar("T")

GOV = "gov-info-request"
HOTLINE = "hotline-complaint"
ZHANG_SAN = Applicant("张三", "13912345678")
# What a test case asks for when the test does not care: the item's one required field.
DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    GOV: {"requested_information": "2025年部门预算"},
    HOTLINE: {"content": "路灯不亮"},
}


# --- settings ---------------------------------------------------------------------------------


def with_settings(rt: Runtime, **changes: Any) -> Runtime:
    """The same database and clock under settings with ``changes`` (settings are read once, at
    start-up, as a process would: a test changes them here, not through the environment)."""
    # A new Settings, validated, not a copy: a copy would carry the old values' cached properties.
    settings = type(rt.settings)(**{**rt.settings.model_dump(), **changes})
    return Runtime(settings, rt.clock, engine_override=rt.engine)


# --- dates ------------------------------------------------------------------------------------


def d(day: str) -> date:
    """``d("2026-03-02")``: a date written as in the calendars."""
    return date.fromisoformat(day)


def at(day: str, hour: int = 10) -> datetime:
    """``hour`` o'clock on ``day`` in Golmud (UTC+8)."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


# --- cases ------------------------------------------------------------------------------------


def submit(rt: Runtime, item: str = GOV, applicant: Applicant = ZHANG_SAN, *,
           received_at: datetime | None = None, fields: dict[str, str] | None = None,
           **applicant_changes: Any) -> Submitted:
    """Submit a case of ``item`` (a government-information request by 张三 unless told otherwise)
    with the item's default fields; ``applicant_changes`` (``email=...``, ``phone=...``) change the
    applicant."""
    return submit_case(rt, item, replace(applicant, **applicant_changes), received_at=received_at,
                       fields=DEFAULT_FIELDS[item] if fields is None else fields)


def drop_append_only_trigger(engine: Engine) -> None:
    """What an attacker with database rights does first: drop the guard that refuses updates and
    deletes of ``events`` (SQLite has one trigger for each, PostgreSQL one for both)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update_delete ON events"))


# --- files ------------------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def sample_rows(name: str) -> list[dict[str, str]]:
    """The rows of ``data/samples/<name>``, a CSV file as a department sends it (with a BOM)."""
    with (SAMPLES / name).open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """``rows`` as a UTF-8 CSV file with a header taken from the first row's keys."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- servers and processes --------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server to take, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(app: Any, **config: Any) -> Iterator[str]:
    """``app`` under a real uvicorn server on a free loopback port, in a thread: its base URL."""
    import uvicorn

    port = free_port()
    config = {"log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 20, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for(check: Callable[[], T], timeout: float, what: str, *, every: float = 0.05) -> T:
    """Call ``check`` every ``every`` seconds until it returns something true, and return that;
    fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def stop_process(process: subprocess.Popen[Any], *, sig: signal.Signals = signal.SIGTERM,
                 timeout: float = 15) -> tuple[Any, Any]:
    """Send ``sig`` to ``process`` if it still runs and wait up to ``timeout`` seconds for it to exit
    (SIGKILL after that, so no process outlives its test); its ``(stdout, stderr)`` when piped.
    The caller checks ``process.returncode``."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=5)


class Mailbox:
    """An aiosmtpd handler that accepts mail for anyone except addresses whose local part names an
    SMTP reply (``nobody@``: 550, ``busy@``: 450)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"
