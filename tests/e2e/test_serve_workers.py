"""`gkflow serve --workers 2` as real processes: one worker is elected to run the embedded
scheduler, /healthz names it, and when it is killed a surviving or restarted worker takes over."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import inspect, text

from gkflow.db.leader import current_leader
from gkflow.runtime import Runtime
from tests.conftest import CONFIG_DIR, ROOT
from tests.helpers import free_port, stop_process, wait_for

pytestmark = pytest.mark.slow

# Only the sweep, and not before an hour: the test watches the election, not Prefect starting up.
QUIET_SCHEDULES = """timezone: Asia/Shanghai
maintenance:
  sweep:
    ref: gkflow.scheduling.jobs:run_sweep
    interval_seconds: 3600
"""


def quiet_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "schedules.yaml").write_text(QUIET_SCHEDULES, encoding="utf-8")
    return config


def serve_env(rt: Runtime, config: Path) -> dict[str, str]:
    return {**os.environ, "GKFLOW_DATABASE_URL": rt.settings.db_url, "GKFLOW_CONFIG_DIR": str(config),
            "GKFLOW_VAR_DIR": str(rt.settings.var_dir), "GKFLOW_PREFECT_WARM_UP": "false"}


def workers_of(pid: int) -> set[int]:
    """The uvicorn worker processes of ``pid`` (spawned children; not multiprocessing's tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status and b"spawn_main" in command:
                found.add(int(entry.name))
    return found


def leader_pid(rt: Runtime, port: int, not_pid: int | None = None) -> int | None:
    body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
    leader = body["scheduler"]["leader"]
    if body["status"] != "ok" or leader is None:
        return None
    pid = int(leader["holder"].rsplit(":", 1)[1])
    return None if pid == not_pid else pid


def test_two_workers_elect_one_scheduler_and_a_survivor_takes_over_when_it_is_killed(rt, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "gkflow", "serve", "--workers", "2", "--port", str(port)]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=serve_env(rt, quiet_config(tmp_path)),
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        first = wait_for(lambda: server.poll() is None and _quietly(leader_pid, rt, port), 60, "a leader")
        workers = wait_for(lambda: len(workers_of(server.pid)) == 2 and workers_of(server.pid), 30,
                           "both workers")
        assert first in workers
        # The leader's scheduler really runs: its job is in the job store.
        assert inspect(rt.engine).has_table("scheduler_jobs")
        with rt.engine.connect() as conn:
            jobs = conn.execute(text("SELECT id FROM scheduler_jobs")).scalars().all()
        assert jobs == ["maintenance:sweep"]

        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: _quietly(leader_pid, rt, port, not_pid=first), 30, "a new leader")
        # The survivor, or (if it started first) the replacement.
        assert second != first and second in workers | workers_of(server.pid)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        # uvicorn replaces the dead worker; there are two again, and still one leader.
        wait_for(lambda: len(workers_of(server.pid) - {first}) == 2, 30, "the replacement worker")
        assert current_leader(rt.engine).holder.endswith(f":{second}")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        finally:
            stop_process(server)
            log.close()
    assert current_leader(rt.engine) is None  # the leader stepped down cleanly on shutdown


def _quietly(check, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return check(*args, **kwargs)
    except requests.RequestException:
        return None
