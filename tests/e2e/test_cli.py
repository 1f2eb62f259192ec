"""The `gkflow` command as a user runs it: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

GKFLOW = [sys.executable, "-m", "gkflow"]
pytestmark = pytest.mark.slow  # every command is a new Python process


@pytest.fixture
def gk(tmp_path):
    env = {**os.environ, "GKFLOW_VAR_DIR": str(tmp_path / "var"),
           "GKFLOW_CONFIG_DIR": str(ROOT / "config")}
    env.pop("GKFLOW_DATABASE_URL", None)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([*GKFLOW, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
        if ok:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    run("init")
    return run


def js(proc: subprocess.CompletedProcess):
    return json.loads(proc.stdout)


def test_register_advance_and_show_a_case_from_the_command_line(gk):
    sub = js(gk("case", "submit", "gov-info-request", "--name", "张三", "--phone", "13912345678",
                "--received-at", "2026-02-10T09:30", "--field", "requested_information=预算", "--json"))
    assert sub["state"] == "received" and sub["item_version"] == 2 and len(sub["query_code"]) == 8
    assert sub["statutory_due"] == "2026-03-16" and sub["clock"] == "running"
    case_no = sub["case_no"]
    adv = js(gk("case", "advance", case_no, "accept", "--actor", "li", "--role", "window_clerk",
                "--expected-version", "1", "--at", "2026-02-11T09:00", "--reason", "根据纸质记录补录",
                "--json"))
    assert adv["state"] == "under_review" and adv["version"] == 2
    shown = js(gk("case", "show", case_no, "--json"))
    assert [t["action"] for t in shown["timeline"]] == ["submit", "accept"]
    assert shown["timeline"][1]["at"] == "2026-02-11T09:00:00+08:00"
    assert shown["timeline"][1]["backdated"] and shown["timeline"][1]["backdate_reason"] == "根据纸质记录补录"
    assert "query_code" not in shown
    assert js(gk("audit", "verify", "--json"))["ok"] is True


def test_errors_exit_non_zero_with_the_json_error_shape(gk):
    sub = js(gk("case", "submit", "gov-info-request", "--name", "张三", "--field",
                "requested_information=x", "--json"))
    wrong = gk("case", "advance", sub["case_no"], "deliver", "--actor", "li", "--role",
               "window_clerk", "--json", ok=False)
    assert wrong.returncode != 0
    assert js(wrong)["error"]["code"] == "transition_not_allowed"
    assert "accept" in js(wrong)["error"]["message"]
    role = gk("case", "advance", sub["case_no"], "accept", "--actor", "x", "--role", "applicant",
              "--json", ok=False)
    assert js(role)["error"]["code"] == "forbidden"
    stale = gk("case", "advance", sub["case_no"], "accept", "--actor", "li", "--role",
               "window_clerk", "--expected-version", "7", "--json", ok=False)
    assert js(stale)["error"]["code"] == "conflict"
    missing = gk("case", "show", "GK20990101-NOPE", "--json", ok=False)
    assert js(missing)["error"]["code"] == "not_found"
    fields = gk("case", "submit", "gov-info-request", "--name", "张三", "--json", ok=False)
    assert js(fields)["error"]["code"] == "invalid_input"
    plain = gk("case", "show", "GK20990101-NOPE", ok=False)
    assert plain.returncode != 0 and "not found" in plain.stderr


def test_items_validate_reports_file_and_line_and_exits_non_zero(gk, tmp_path):
    good = gk("items", "validate", str(ROOT / "config" / "items"), "--json")
    assert js(good)["ok"] is True
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config/items/gov-info-request.yaml").read_text(encoding="utf-8")
                   .replace("to: completed", "to: finished"), encoding="utf-8")
    proc = gk("items", "validate", str(bad), ok=False)
    assert proc.returncode != 0
    assert "bad.yaml:" in proc.stderr and "unknown state 'finished'" in proc.stderr
    line = int(proc.stderr.split("bad.yaml:")[1].split(":")[0])
    assert "to: finished" in bad.read_text(encoding="utf-8").splitlines()[line - 1]


def test_items_list_and_show_print_limits_states_and_transitions(gk):
    listed = js(gk("items", "list", "--json"))
    assert {"code": "gov-info-request", "name": "政府信息公开申请（依申请公开）", "version": 3} in listed
    v1 = js(gk("items", "show", "gov-info-request", "--version", "1", "--json"))
    assert v1["statutory_limit"] == {"days": 15, "unit": "working"}
    extend = next(t for t in v1["transitions"] if t["name"] == "extend")
    assert extend["clock"] == "extend" and extend["extend_days"] == 15
    assert {"name": "completed", "label": "已办结", "final": True, "stops_clock": False} in v1["states"]


def test_calendar_add_days_marks_years_without_an_official_schedule_as_provisional(gk):
    assert js(gk("calendar", "add-days", "2026-02-10", "20", "--json")) == {
        "date": "2026-03-16", "provisional": False}
    assert js(gk("calendar", "add-days", "2026-12-15", "20", "--json"))["provisional"] is True
    assert js(gk("calendar", "add-days", "2025-09-24", "7", "--calendar-days", "--json")) == {
        "date": "2025-10-09", "provisional": False}
    early = gk("calendar", "add-days", "1999-01-01", "3", "--json", ok=False)
    assert js(early)["error"]["code"] == "calendar_unknown_year"


def test_a_command_before_init_says_to_run_init(tmp_path):
    env = {**os.environ, "GKFLOW_VAR_DIR": str(tmp_path / "var"), "GKFLOW_CONFIG_DIR": str(ROOT / "config")}
    proc = subprocess.run([*GKFLOW, "case", "show", "GK20260302-ABCDEF", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"]["code"] == "invalid_config"
    assert "gkflow init" in json.loads(proc.stdout)["error"]["message"]


def test_case_list_finds_cases_by_name_phone_tail_and_number_and_pages_them(gk):
    numbers = []
    for name, phone in (("王小明", "13912345678"), ("王小红", "13800001111"), ("李四", "13700005678")):
        numbers.append(js(gk("case", "submit", "gov-info-request", "--name", name, "--phone", phone,
                             "--field", "requested_information=预算", "--json"))["case_no"])
    found = js(gk("case", "list", "--q", "小明", "--json"))
    assert [r["case_no"] for r in found["items"]] == [numbers[0]] and found["items"][0]["applicant"] == "王**"
    assert {r["case_no"] for r in js(gk("case", "list", "--q", "5678", "--json"))["items"]} == {
        numbers[0], numbers[2]}
    by_number = js(gk("case", "list", "--q", numbers[1][-4:].lower(), "--json"))
    assert by_number["items"][0]["case_no"] == numbers[1]
    first = js(gk("case", "list", "--limit", "2", "--json"))
    assert first["counts"]["open"] == 3 and len(first["items"]) == 2 and first["next_cursor"]
    rest = js(gk("case", "list", "--limit", "2", "--cursor", first["next_cursor"], "--json"))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    text = gk("case", "list", "--q", "王").stdout
    assert "王**" in text and "15 working days left" in text and "open 2 ·" in text
    assert js(gk("case", "list", "--completed", "--json"))["items"] == []
    bad = gk("case", "list", "--from", "2026-02-30", ok=False)
    assert bad.returncode == 1 and "not a date" in bad.stderr + bad.stdout
    both = gk("case", "list", "--overdue", "--completed", "--json", ok=False)
    assert json.loads(both.stdout)["error"]["code"] == "invalid_input"


def test_publish_run_reports_bad_input_in_one_line_before_starting_prefect(gk):
    proc = gk("publish", "run", "fiscal-monthly", "--period", "2026-13", ok=False)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 1
    assert output == "error [invalid_input]: '2026-13' is not a monthly period of fiscal-monthly"
    proc = gk("publish", "run", "no-such-task", "--period", "2026-10", "--json", ok=False)
    assert json.loads(proc.stdout)["error"]["code"] == "not_found" and "Traceback" not in proc.stderr
