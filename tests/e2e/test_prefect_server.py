"""Distributed set-up for real: a Prefect server and a process worker on loopback, `gkflow deploy`,
a triggered deployment run, and the outcome read from gkflow's own ledger."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import CONFIG_DIR, ROOT
from tests.helpers import free_port, stop_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.prefect]
BIN = Path(sys.executable).parent


def config_with_todays_fiscal_source(tmp_path: Path) -> Path:
    """The project's config, with the fiscal task reading a copy of a sample for the month a run
    scheduled today publishes (the samples end in 2026-10; the run's period follows the calendar)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from gkflow.publication.periods import Cadence, last_formed

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    period = last_formed(Cadence.MONTHLY, datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date())
    sample = (ROOT / "data" / "samples" / "fiscal" / "fiscal-2026-10.csv").read_text("utf-8-sig")
    lines = sample.splitlines()
    source = tmp_path / f"fiscal-{period.label}.csv"
    source.write_text("\n".join([lines[0]] + [period.label + line[7:] for line in lines[1:]]) + "\n", "utf-8")
    publication = (config / "publication.yaml").read_text("utf-8")
    (config / "publication.yaml").write_text(publication.replace(
        "data/samples/fiscal/fiscal-{period}.*", str(tmp_path / "fiscal-{period}.csv")), "utf-8")
    return config


def test_deploy_to_a_prefect_server_and_a_worker_publishes_into_the_ledger(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    db_url = f"sqlite:///{tmp_path / 'gkflow.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GKFLOW_"))}
    env.update({
        "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
        "GKFLOW_VAR_DIR": str(tmp_path / "var"), "GKFLOW_DATABASE_URL": db_url,
        "GKFLOW_CONFIG_DIR": str(config_with_todays_fiscal_source(tmp_path)),
    })
    client_env = {**env, "PREFECT_API_URL": api, "PREFECT_WORKER_QUERY_SECONDS": "2",
                  "PREFECT_WORKER_PREFETCH_SECONDS": "5"}
    logs = tmp_path / "logs"
    logs.mkdir()
    with (logs / "server.log").open("w") as log:  # the server writes to its own copy of the file
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                                   str(port)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    worker = None
    try:
        def healthy() -> bool:
            try:
                return requests.get(f"{api}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(healthy, 60, "the Prefect server", every=0.5)
        subprocess.run([str(BIN / "gkflow"), "init"], env=client_env, cwd=tmp_path, check=True,
                       capture_output=True, timeout=60)
        deployed = subprocess.run([str(BIN / "gkflow"), "deploy", "--pool", "gk-test", "--json"],
                                  env=client_env, cwd=tmp_path, capture_output=True, text=True, timeout=90)
        assert deployed.returncode == 0, deployed.stderr + deployed.stdout
        names = {d["name"] for d in json.loads(deployed.stdout)}
        assert {"publish-scheduled/fiscal-monthly", "deadline-sweep/sweep"} <= names
        found = requests.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        fiscal = next(d for d in found if d["name"] == "fiscal-monthly")
        [schedule] = fiscal["schedules"]
        assert schedule["schedule"]["cron"] == "0 9 5 * *"
        assert schedule["schedule"]["timezone"] == "Asia/Shanghai"
        with (logs / "worker.log").open("w") as log:
            worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "gk-test", "--type",
                                       "process"], env=client_env, cwd=tmp_path, stdout=log,
                                      stderr=subprocess.STDOUT)
        triggered = subprocess.run([str(BIN / "prefect"), "deployment", "run",
                                    "publish-scheduled/fiscal-monthly"], env=client_env, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=60)
        assert triggered.returncode == 0, triggered.stderr + triggered.stdout

        from sqlalchemy import create_engine, text

        engine = create_engine(db_url)

        def ledger_row():  # type: ignore[no-untyped-def]
            with engine.connect() as conn:
                return conn.execute(text(
                    "SELECT period, status, trigger, flow_run_id FROM publications "
                    "WHERE task = 'fiscal-monthly' AND status <> 'publishing'")).first()

        try:
            row = wait_for(ledger_row, 75, "the worker's flow run to reach the ledger", every=0.5)
        except AssertionError:
            raise AssertionError("no ledger row; worker log:\n" + (logs / "worker.log").read_text()[-3000:]) \
                from None
        assert row.status == "published" and row.trigger == "schedule" and row.flow_run_id
        flow_run = requests.get(f"{api}/flow_runs/{row.flow_run_id}", timeout=10).json()
        assert flow_run["deployment_id"] == fiscal["id"]
        assert (tmp_path / "var" / "site" / "fiscal-monthly" / row.period / "current" / "index.html").exists()
        engine.dispose()
    finally:
        if worker is not None:
            stop_process(worker)
        stop_process(server)
