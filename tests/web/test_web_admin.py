"""Admin pages: dashboard figures, dead-letter retry, rectifications, catalogue diagrams, demo guard."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from gkflow.delivery.outbox import claim, mark_failed
from gkflow.domain.errors import InvalidConfig
from gkflow.services.accounts import active_demo_accounts, refuse_demo_accounts_off_loopback, save_user
from gkflow.services.dashboard import dashboard
from tests.web.conftest import GOV, complete_gov, login, submit_gov


def test_the_dashboard_is_for_administrators_only(client):
    assert client.get("/admin").status_code == 303
    login(client, "clerk")
    response = client.get("/admin")
    assert response.status_code == 403 and "仅限管理员" in response.text


def test_the_dashboard_shows_cases_satisfaction_and_bad_ratings_until_rectified(client, bearer, app_rt):
    good, bad, open_case = submit_gov(client), submit_gov(client), submit_gov(client)
    for case in (good, bad):
        complete_gov(client, case["case_no"], bearer("clerk"))
    client.post(f"/api/cases/{good['case_no']}/rating", json={"code": good["query_code"], "level": 5})
    client.post(
        f"/api/cases/{bad['case_no']}/rating",
        json={"code": bad["query_code"], "level": 1, "comment": "等太久"},
    )
    csrf = login(client, "admin")
    page = client.get("/admin").text
    assert 'id="kpi-satisfaction">50.0%' in page and 'id="kpi-on-time">100.0%' in page
    assert "目标 98%" in page and page.count("<svg") >= 4
    assert bad["case_no"] in page and "等太久" in page
    figures = dashboard(app_rt)
    assert figures["cases"]["closed_total"] == 2
    assert {"item": GOV, "item_name": "政府信息公开申请（依申请公开）", "count": 3} in figures["cases"][
        "per_item"
    ]
    task_id = re.search(r'action="/staff/rectifications/(\d+)/close"', page).group(1)
    response = client.post(
        f"/staff/rectifications/{task_id}/close",
        data={"csrf_token": csrf, "resolution": "已回访致歉", "next": "/admin"},
    )
    assert response.status_code == 303
    assert "等太久" not in client.get("/admin").text
    assert open_case["case_no"] not in client.get("/admin").text  # not overdue


def test_an_overdue_case_shows_on_the_dashboard(client, clock):
    from datetime import timedelta

    case = submit_gov(client)
    clock.advance(timedelta(days=30))
    login(client, "admin")
    page = client.get("/admin").text
    assert 'id="kpi-overdue">1<' in page and case["case_no"] in page


def test_the_administrator_retries_a_dead_letter(client, app_rt):
    submit_gov(client)
    (message, *_rest) = claim(app_rt, worker="test", limit=1)
    mark_failed(app_rt, message.id, "test", status="dead", error="gateway said no")
    csrf = login(client, "admin")
    page = client.get("/admin").text
    assert f'data-outbox="{message.id}"' in page and "gateway said no" in page
    response = client.post(f"/admin/outbox/{message.id}/retry", data={"csrf_token": csrf})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert f"通知 #{message.id} 已重新排队投递" in page and f'data-outbox="{message.id}"' not in page
    again = client.post(f"/admin/outbox/{message.id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert client.post(f"/admin/outbox/{message.id}/retry", data={}).status_code == 403


def test_the_dashboard_says_plainly_when_prefect_is_unreachable(client, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    login(client, "admin")
    assert "无法读取 Prefect API" in client.get("/admin").text
    monkeypatch.delenv("PREFECT_API_URL")
    assert "未设置 PREFECT_API_URL" in client.get("/admin").text


def test_the_admin_json_dashboard_needs_an_administrator_token(client, bearer):
    assert client.get("/api/admin/dashboard", headers=bearer("clerk")).status_code == 403
    data = client.get("/api/admin/dashboard", headers=bearer("admin")).json()
    assert data["ratings"]["goal"] == 0.98 and "notices" in data


def test_the_catalogue_lists_versions_and_draws_each_state_diagram(client):
    login(client, "admin")
    page = client.get("/admin/catalogue").text
    assert f"/admin/catalogue/{GOV}?version=1" in page and f"/admin/catalogue/{GOV}?version=2" in page
    page = client.get(f"/admin/catalogue/{GOV}?version=1").text
    assert "<svg" in page and 'data-state="awaiting_correction"' in page and "15个工作日" in page
    assert page.count('class="state"') == 7 and 'marker-end="url(#arrow)"' in page
    assert client.get("/admin/catalogue/nope").status_code == 404


def test_serving_off_loopback_is_refused_while_a_demo_account_is_active(app_rt):
    refuse_demo_accounts_off_loopback(app_rt, "127.0.0.1")
    refuse_demo_accounts_off_loopback(app_rt, "::1")
    with pytest.raises(InvalidConfig, match="published demo password"):
        refuse_demo_accounts_off_loopback(app_rt, "0.0.0.0")
    for username in active_demo_accounts(app_rt):
        save_user(app_rt, username, password=None, active=False)
    refuse_demo_accounts_off_loopback(app_rt, "0.0.0.0")


def test_users_cli_disables_demo_accounts_and_adds_real_ones(sqlite_rt, monkeypatch):
    from gkflow.cli import app

    monkeypatch.setenv("GKFLOW_DATABASE_URL", sqlite_rt.settings.db_url)
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 1 and "published demo password" in result.output
    result = runner.invoke(app, ["users", "disable-demo", "--json"])
    assert result.exit_code == 0 and "clerk" in result.output
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "li",
            "--role",
            "window_clerk",
            "--department",
            "格尔木市人民政府办公室",
            "--password-stdin",
        ],
        input="Qarhan-salt-lake-2026\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["users", "token", "li", "--json"])
    assert result.exit_code == 0 and '"token": "gk_' in result.output
    from gkflow.services.accounts import authenticate

    assert authenticate(sqlite_rt, "li", "Qarhan-salt-lake-2026") is not None
    assert authenticate(sqlite_rt, "clerk", "gkflow-demo") is None


def test_the_dashboard_shows_the_publication_ledger_with_its_late_periods(client, app_rt):
    from gkflow.services.dashboard import publication_ledger

    ledger = publication_ledger(app_rt)
    assert ledger["available"], ledger["reason"]
    login(client, "admin")
    page = client.get("/admin").text
    section = page[page.index('id="publications"') : page.index('id="flow-runs"')]
    for status, count in ledger["summary"].items():
        assert f"{status}: {count}" in section
    late_rows = sum(1 for row in ledger["rows"] if row["late"])
    assert section.count('<tr class="red">') == late_rows
    assert section.count("<tr") == len(ledger["rows"]) + 1  # plus the header row
