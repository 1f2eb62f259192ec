"""The production set-up of deploy/: the compose file's `web` (2 workers) and `dispatch` (2 replicas)
commands as real processes on a real PostgreSQL, cases driven through the HTTP API with a bearer
token, every notice at the gateway exactly once; and the systemd units and every `gkflow` command
line in deploy/ checked against systemd and the CLI."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import select

from gkflow.delivery.outbox import outbox_t
from gkflow.runtime import Runtime
from gkflow.services.audit import verify_all
from gkflow.services.sessions import issue_token
from tests.conftest import ROOT
from tests.helpers import free_port, stop_process, wait_for

DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
CASES_PER_CLIENT = 6
CLIENTS = 4
STEPS = (("accept", {}), ("decide", {"outcome": "予以公开（提供信息或告知获取的方式、途径和时间）"}),
         ("deliver", {}))


class Gateway:
    """An SMS gateway on loopback that records each request's idempotency key and arrival time."""

    def __init__(self) -> None:
        self.received: list[tuple[str, float]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    received.append((self.headers["Idempotency-Key"], time.time()))
                answer = json.dumps({"id": self.headers["Idempotency-Key"], "status": "delivered"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"


def compose_command(service: str, port: int | None = None) -> list[str]:
    """A compose service's command as a local process: `gkflow` from this checkout, on loopback."""
    command = list(COMPOSE["services"][service]["command"])
    assert command[0] == "gkflow"
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if option in command:
            command[command.index(option) + 1] = value
    return [sys.executable, "-m", "gkflow", *command[1:]]


def compose_env(rt: Runtime, tmp_path: Path, gateway: Gateway) -> dict[str, str]:
    """The compose environment, with this test's database, config, var dir and gateway instead of
    the containers' (and no Prefect server: web and dispatch do not use one)."""
    channels = tmp_path / "channels.yaml"
    channels.write_text(json.dumps({
        "sandbox_all": False, "quiet_hours": {"start": "00:00", "end": "00:00"},
        "dispatch": {"poll_seconds": 0.3, "batch_size": 50, "lease_seconds": 120},
        "channels": {"sms": {"gateway_url": gateway.url, "api_key": "test-key", "timeout": [2, 5]}},
    }), encoding="utf-8")
    declared = COMPOSE["x-gkflow"]["environment"]
    assert {"GKFLOW_DATABASE_URL", "GKFLOW_CONFIG_DIR", "GKFLOW_VAR_DIR"} <= set(declared)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GKFLOW_")}
    env.update({k: str(v) for k, v in declared.items() if not k.startswith("PREFECT_API")})
    env.update({"GKFLOW_DATABASE_URL": rt.settings.db_url, "GKFLOW_CONFIG_DIR": str(rt.settings.config_dir),
                "GKFLOW_VAR_DIR": str(rt.settings.var_dir), "GKFLOW_CHANNELS_FILE": str(channels),
                "PREFECT_HOME": str(tmp_path / "prefect")})
    return env


def drive_cases(base: str, token: str, client_no: int) -> list[str]:
    """One client: submit cases and take each through its whole lifecycle over the API."""
    with requests.Session() as session:
        staff = {"Authorization": f"Bearer {token}"}
        done = []
        for i in range(CASES_PER_CLIENT):
            response = session.post(f"{base}/api/cases", headers=staff, timeout=30, json={
                "item": "gov-info-request", "name": "张三", "phone": f"139{client_no:04d}{i:04d}",
                "fields": {"requested_information": f"第{client_no}-{i}份文件"}})
            assert response.status_code == 201, response.text
            case = response.json()
            for action, fields in STEPS:
                response = session.post(
                    f"{base}/api/cases/{case['case_no']}/actions/{action}", headers=staff,
                    json={"expected_version": case["version"], "fields": fields}, timeout=30)
                assert response.status_code == 200, response.text
                case = response.json()
            assert case["final"], case
            done.append(case["case_no"])
    return done


@pytest.mark.slow
def test_two_web_workers_and_two_dispatchers_on_postgres_carry_cases_and_deliver_each_notice_once(
        pg_rt, tmp_path):
    gateway = Gateway()
    env = compose_env(pg_rt, tmp_path, gateway)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = (tmp_path / "processes.log").open("w")
    web = subprocess.Popen(compose_command("web", port), cwd=ROOT, env=env, stdout=logs,
                           stderr=subprocess.STDOUT)
    replicas = COMPOSE["services"]["dispatch"]["deploy"]["replicas"]
    assert replicas == 2 and "--workers" in compose_command("web", port)
    dispatchers = [subprocess.Popen(compose_command("dispatch"), cwd=ROOT, env=env, stdout=logs,
                                    stderr=subprocess.STDOUT) for _ in range(replicas)]
    try:
        wait_for(lambda: web.poll() is None and _health(base), 60, "the web processes")
        token = issue_token(pg_rt, "clerk")
        with ThreadPoolExecutor(CLIENTS) as pool:
            case_nos = [no for done in pool.map(drive_cases, [base] * CLIENTS, [token] * CLIENTS,
                                                 range(CLIENTS)) for no in done]
        assert len(set(case_nos)) == CLIENTS * CASES_PER_CLIENT

        with pg_rt.engine.connect() as conn:
            sms = dict(conn.execute(select(outbox_t.c.idempotency_key, outbox_t.c.created_at)
                                    .where(outbox_t.c.channel == "sms")).all())
        assert len(sms) >= len(case_nos) * 3  # at least: received, accepted, decided … per case
        wait_for(lambda: {key for key, _ in gateway.received} >= set(sms), 60, "every notice at the gateway")
        with pg_rt.engine.connect() as conn:
            statuses = set(conn.execute(
                select(outbox_t.c.status).where(outbox_t.c.channel == "sms")).scalars())
        assert statuses == {"delivered"}
        keys = [key for key, _ in gateway.received]
        assert len(keys) == len(set(keys)) == len(sms)  # none lost, none sent twice by the two dispatchers
        arrived = dict(gateway.received)
        lags = sorted(arrived[k] - sms[k].timestamp() for k in sms)
        assert lags[int(0.95 * len(lags))] < 10, lags[-5:]

        report = _health(base)
        assert report["status"] == "ok" and report["outbox"]["due"] == 0
        assert report["scheduler"]["embedded"] is False  # --no-scheduler: the Prefect server schedules
        assert verify_all(pg_rt).ok
    finally:
        for process in (*dispatchers, web):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (*dispatchers, web):
            try:
                process.wait(timeout=30)
            finally:
                stop_process(process)
        logs.close()
        gateway.server.shutdown()
        gateway.server.server_close()
    log_tail = (tmp_path / "processes.log").read_text()[-3000:]
    assert [p.returncode for p in dispatchers] == [0] * replicas, log_tail


def _health(base: str) -> dict[str, Any] | None:
    try:
        response = requests.get(f"{base}/healthz", timeout=5)
    except requests.RequestException:
        return None
    return response.json() if response.status_code == 200 else None


# -- the files in deploy/ ------------------------------------------------------------------------------


def gkflow_command_lines() -> list[tuple[str, list[str]]]:
    """(where, arguments after `gkflow`) of every gkflow command in the compose file and the units."""
    found = []
    for name, service in COMPOSE["services"].items():
        command = service.get("command") or []
        if command[:1] == ["gkflow"]:
            found.append((f"compose.yaml: {name}", command[1:]))
    for unit in UNITS:
        for line in unit.read_text(encoding="utf-8").splitlines():
            match = re.match(r"ExecStart(?:Post|Pre)?=(\S*/gkflow) (.*)", line)
            if match:
                args = shlex.split(match.group(2).replace("%H", "host").replace("%i", "1"))
                found.append((unit.name, args))
    return found


def test_every_gkflow_command_line_in_deploy_is_one_the_cli_accepts():
    from typer.testing import CliRunner

    from gkflow.cli import app

    lines = gkflow_command_lines()
    assert {where.split(":")[0] for where, _ in lines} >= {"compose.yaml", "gkflow-web.service",
                                                          "gkflow-dispatch@.service", "gkflow-init.service"}
    for where, args in lines:
        # Click parses every option before it acts on --help: an unknown option or command fails.
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"{where}: gkflow {' '.join(args)}: {result.output}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    bin_dir = str(Path(sys.executable).parent) + "/"
    env_file = tmp_path / "gkflow.env"
    shutil.copy(DEPLOY / "systemd" / "gkflow.env.example", env_file)
    for path in (*UNITS, DEPLOY / "systemd" / "gkflow.target"):
        text = path.read_text(encoding="utf-8")
        (tmp_path / path.name).write_text(
            text.replace("/opt/gkflow/.venv/bin/", bin_dir).replace("/etc/gkflow/gkflow.env", str(env_file)),
            encoding="utf-8")
    units = [str(tmp_path / p.name) for p in (*UNITS, DEPLOY / "systemd" / "gkflow.target")]
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stderr
