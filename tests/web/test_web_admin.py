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
    assert 'id="kpi-open">1<' in page and 'href="/staff?tab=open"' in page
    assert "目标 98.0%" in page and "待整改差评 1" in page
    assert page.count("<svg") == 1 and "满意率月度走势" in page  # the trend, one point per month
    figures = dashboard(app_rt)
    assert figures["cases"]["on_time"]["closed"] == 2
    assert figures["cases"]["by_item"][0]["key"] == GOV and figures["cases"]["by_item"][0]["closed"] == 2
    assert figures["trend"][-1] == {"month": "2026-03", "total": 2, "bad": 1, "rate": 0.5}
    listed = client.get("/admin/rectifications").text
    assert bad["case_no"] in listed and "等太久" in listed
    task_id = re.search(r'action="/staff/rectifications/(\d+)/close"', listed).group(1)
    response = client.post(
        f"/staff/rectifications/{task_id}/close",
        data={"csrf_token": csrf, "resolution": "已回访致歉", "next": "/admin/rectifications"},
    )
    assert response.status_code == 303
    assert "等太久" not in client.get("/admin/rectifications").text
    assert "已回访致歉" in client.get("/admin/rectifications?status=closed").text
    assert open_case["case_no"] not in client.get("/admin").text


def test_an_overdue_case_shows_on_the_dashboard_with_a_link_to_the_list_behind_it(client, clock):
    from datetime import timedelta

    case = submit_gov(client)
    clock.advance(timedelta(days=30))
    login(client, "admin")
    page = client.get("/admin").text
    assert 'id="kpi-overdue">1<' in page and 'href="/staff?tab=overdue"' in page
    assert case["case_no"] in client.get("/staff?tab=overdue").text


def test_the_administrator_reads_a_notice_as_sent_and_retries_dead_letters(client, app_rt):
    case = submit_gov(client, email="zhang@example.cn")
    messages = claim(app_rt, worker="test", limit=10)
    email = next(m for m in messages if m.channel == "email")
    mark_failed(app_rt, email.id, "test", status="dead", error="gateway said no")
    csrf = login(client, "admin")
    page = client.get("/admin/notices?status=failed").text
    assert f'data-outbox="{email.id}"' in page and "gateway said no" in page and "已放弃（死信）" in page
    assert page.count("data-outbox=") == 1
    by_case = client.get(f"/admin/notices?channel=email&case={case['case_no']}").text
    assert f'data-outbox="{email.id}"' in by_case
    assert "data-outbox" not in client.get("/admin/notices?channel=wechat").text
    detail = client.get(f"/admin/notices/{email.id}").text
    assert "您的申请已收件" in detail and "&lt;!doctype" not in detail.lower()  # text, never source
    frame_tag = f'title="电子邮件预览" sandbox src="/admin/notices/{email.id}/email.html"'
    assert frame_tag in detail
    frame = client.get(f"/admin/notices/{email.id}/email.html")
    assert "sandbox" in frame.headers["content-security-policy"] and "<html" in frame.text.lower()
    assert "default-src 'none'" in frame.headers["content-security-policy"]
    response = client.post(f"/admin/notices/{email.id}/retry", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert "已重新排队投递" in client.get(response.headers["location"]).text
    assert client.post(f"/admin/notices/{email.id}/retry", data={"csrf_token": csrf}).status_code == 409
    assert client.post(f"/admin/notices/{email.id}/retry", data={}).status_code == 403
    for message in claim(app_rt, worker="test", limit=10):
        mark_failed(app_rt, message.id, "test", status="dead", error="down")
    response = client.post("/admin/notices/retry-all", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"].endswith("retried=all-1")
    assert "data-outbox" not in client.get("/admin/notices?status=failed").text
    assert client.get("/admin/notices?status=bogus").status_code == 422
    assert client.get("/admin/notices/999999").status_code == 404


def test_flow_runs_show_the_embedded_scheduler_and_say_plainly_when_prefect_is_unreachable(
        client, app_rt, monkeypatch):
    from datetime import timedelta

    from gkflow.services.flow_runs import record_scheduler_run

    now = app_rt.now()
    record_scheduler_run(app_rt, job_id="publish:fiscal-monthly", scheduled_at=now, started_at=now,
                         finished_at=now + timedelta(seconds=12.5), failed=False, summary="2026-02 published")
    login(client, "admin")
    page = client.get("/admin/runs").text
    assert "主动公开 fiscal-monthly" in page and "12.5 秒" in page and "2026-02 published" in page
    assert "未设置 PREFECT_API_URL" in page
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert "无法读取 Prefect API" in client.get("/admin/runs").text


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
    assert "逾期未补正，" in page  # the whole label, wrapped, never cut
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


def test_a_fresh_ledger_is_explained_instead_of_shown_as_overdue_periods(client, app_rt):
    login(client, "admin")
    page = client.get("/admin/publications").text
    assert 'id="fresh-install"' in page and "gkflow publish backfill" in page
    assert '<tr class="red">' not in page and "逾期" not in page
    assert "尚未发布" in client.get("/admin").text


def test_the_ledger_shows_editions_links_and_failure_reasons_in_chinese(client, app_rt, clock, tmp_path):
    from datetime import UTC, datetime

    from gkflow.publication.service import publish_period

    clock.set(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    bad = tmp_path / "bad.csv"
    bad.write_text("period,kind,item,amount_month\n2026-10,收入,税收,三千\n", encoding="utf-8")
    assert publish_period(app_rt, "fiscal-monthly", "2026-10", source=str(bad)).status == "failed"
    published = publish_period(app_rt, "fiscal-monthly", "2026-10")
    assert published.status == "published" and published.version == 2
    assert published.to_dict(app_rt)["edition"] == 1  # the ledger's v2 is the public 第1版
    login(client, "admin")
    page = client.get("/admin/publications").text
    assert "fresh-install" not in page
    assert "第1版" in page and 'href="/gk/fiscal-monthly/2026-10/versions/v2/"' in page
    assert "发布失败" in page and "已由后续版本补发" in page and "missing column(s)" in page
    assert "已发布" in page and "按时" in page and ">published<" not in page and "formed_on" not in page
    assert client.get("/gk/fiscal-monthly/2026-10/versions/v2/").status_code == 200
