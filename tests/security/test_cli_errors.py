"""Every CLI error is one clear line, or with --json the {"error": …} shape, and a non-zero exit:
never a traceback (real processes, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import _reset_postgres

ROOT = Path(__file__).resolve().parents[2]
GKFLOW = [sys.executable, "-m", "gkflow"]


@pytest.fixture(params=["sqlite", "postgres"])
def gk(request, tmp_path):
    env = {**os.environ, "GKFLOW_VAR_DIR": str(tmp_path / "var"), "GKFLOW_CONFIG_DIR": str(ROOT / "config")}
    env.pop("GKFLOW_DATABASE_URL", None)
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server")
        _reset_postgres(url)
        env["GKFLOW_DATABASE_URL"] = url

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*GKFLOW, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)

    if request.param == "postgres":  # the distributed set-up's keys are made on purpose, not by init
        assert run("audit", "keygen").returncode == 0
    assert run("init").returncode == 0
    return run


def _json_error(proc: subprocess.CompletedProcess, code: str = "invalid_input") -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == code, error
    return str(error["message"])


def test_a_receipt_time_in_year_one_is_a_json_error(gk):
    proc = gk("case", "submit", "gov-info-request", "--name", "张三", "--received-at", "0001-01-01T00:00:00",
              "--field", "requested_information=预算", "--json")
    assert "1900" in _json_error(proc)


def test_bad_times_ids_and_control_characters_are_json_errors_too(gk):
    submitted = gk("case", "submit", "gov-info-request", "--name", "张三", "--field",
                   "requested_information=预算", "--json")
    case_no = json.loads(submitted.stdout)["case_no"]
    _json_error(gk("case", "advance", case_no, "accept", "--actor", "li", "--role", "window_clerk",
                   "--at", "9999-12-31T23:59:59", "--json"))
    _json_error(gk("case", "submit", "gov-info-request", "--name", "张\x01三", "--field",
                   "requested_information=预算", "--json"))
    _json_error(gk("case", "show", "GK\x1b[2J", "--json"))
    _json_error(gk("outbox", "list", "--limit", "99999999999999999999", "--json"))
    _json_error(gk("case", "advance", case_no, "accept", "--actor", "li", "--role", "window_clerk",
                   "--expected-version", "abc", "--json"))


def test_a_usage_error_without_json_is_clicks_own_message(gk):
    proc = gk("case", "advance", "GK1", "accept", "--actor", "li", "--role", "x", "--expected-version", "abc")
    assert proc.returncode == 2 and "Invalid value" in proc.stderr and "Traceback" not in proc.stderr


def test_items_validate_refuses_an_alias_bomb_at_once(gk, tmp_path):
    base = (ROOT / "config" / "items" / "hotline-enquiry.yaml").read_text(encoding="utf-8")
    bomb = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb_file = tmp_path / "bomb.yaml"
    bomb_file.write_text(base.replace("fee: 不收费", "fee: 不收费\ndescription_extra:\n  " +
                                      "\n  ".join(bomb)), encoding="utf-8")
    started = time.monotonic()
    proc = gk("items", "validate", str(bomb_file), "--json")
    assert time.monotonic() - started < 20
    problems = json.loads(proc.stdout)["error"]["problems"]
    assert proc.returncode == 1 and any("aliases expand this document" in p for p in problems), problems


def test_a_bad_setting_is_an_invalid_config_error_naming_it(tmp_path):
    env = {**os.environ, "GKFLOW_VAR_DIR": str(tmp_path / "var"), "GKFLOW_CONFIG_DIR": str(ROOT / "config"),
           "GKFLOW_TRUSTED_PROXIES": "10.0.0.5, proxy.example"}
    env.pop("GKFLOW_DATABASE_URL", None)
    proc = subprocess.run([*GKFLOW, "users", "list", "--json"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    message = _json_error(proc, "invalid_config")
    assert "GKFLOW_TRUSTED_PROXIES" in message and "proxy.example" in message
