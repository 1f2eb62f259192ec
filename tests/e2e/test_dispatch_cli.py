"""`gkflow outbox dispatch --once`, `gkflow outbox list` and `gkflow inbox` as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from gkflow.cli import app
from gkflow.services.cases import Applicant, submit_case


@pytest.fixture
def gk(sqlite_rt, monkeypatch, tmp_path):
    monkeypatch.setenv("GKFLOW_DATABASE_URL", sqlite_rt.settings.db_url)
    quiet_free = tmp_path / "channels.yaml"  # the embedded defaults, minus quiet hours at test time
    quiet_free.write_text('quiet_hours: {start: "00:00", end: "00:00"}\n', encoding="utf-8")
    monkeypatch.setenv("GKFLOW_CHANNELS_FILE", str(quiet_free))
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return run


def test_dispatch_once_delivers_to_the_sandbox_and_list_and_inbox_show_it(sqlite_rt, gk):
    zhang = Applicant("张三", "13912345678", email="z@example.cn")
    case_no = submit_case(sqlite_rt, "gov-info-request", zhang,
                          fields={"requested_information": "预算"}).case_no
    other = submit_case(sqlite_rt, "legal-aid", Applicant("李四", "13700001234"),
                        fields={"matter": "劳动争议"},
                        received_at=datetime(2026, 3, 2, 2, tzinfo=UTC)).case_no
    with sqlite_rt.engine.begin() as conn:  # the sandbox's failing test recipient (not a valid phone)
        conn.exec_driver_sql("UPDATE outbox SET recipient = 'simulate-permanent-failure' WHERE case_no = ?",
                             (other,))
    assert {r["status"] for r in gk("outbox", "list", "--json")} == {"created"}

    report = gk("outbox", "dispatch", "--once", "--json")
    assert (report["claimed"], report["delivered"], report["failed"]) == (3, 2, 1)
    assert report["by_route"] == {"sandbox": 3}

    listed = gk("outbox", "list", "--case", case_no, "--json")
    assert {(r["channel"], r["status"], r["recipient"]) for r in listed} == {
        ("sms", "delivered", "139****5678"), ("email", "delivered", "z***@example.cn")}
    assert listed[0]["delivered_at"].endswith("+08:00")
    [refused] = gk("outbox", "list", "--status", "permanent-failure", "--json")
    assert refused["case_no"] == other and "simulated" in refused["last_error"]

    inbox = gk("inbox", "--case", case_no, "--json")
    assert {m["channel"] for m in inbox} == {"sms", "email"}
    sms = next(m for m in inbox if m["channel"] == "sms")
    assert case_no in sms["text"] and "13912345678" not in json.dumps(inbox, ensure_ascii=False)
    assert "张*" in gk("inbox", "--case", case_no)
    assert gk("outbox", "dispatch", "--once", "--json")["claimed"] == 0
    assert gk("outbox", "list", "--status", "lost", "--json", code=1)["error"]["code"] == "invalid_input"
