"""Publishing periods against real files, a real local HTTP source and CMS, real SQLite/PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gkflow.db.models import OutboxRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.publication import ledger
from gkflow.publication.config import load_publication_config
from gkflow.publication.service import publish_period, publish_task_period
from gkflow.publication.status import publication_status
from gkflow.publication.triggers import consume_milestones
from gkflow.services.cases import Applicant, fire, submit_case
from tests.helpers import sample_rows, with_settings, write_csv


@pytest.fixture
def pub_rt(sqlite_rt, clock):
    clock.set(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))  # 10:00 in Golmud, before the 27 Nov due date
    return sqlite_rt


def site(rt) -> Path:
    return load_publication_config(rt.settings).site_dir


def outbox(rt, topic: str) -> list[dict]:
    with rt.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(OutboxRow.__table__).where(OutboxRow.__table__.c.topic == topic)).mappings()]


def test_a_month_of_fiscal_data_is_published_with_page_open_data_and_a_ledger_row(rt, clock):
    clock.set(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    outcome = publish_period(rt, "fiscal-monthly", "2026-10")
    assert outcome.status == "published" and outcome.version == 1
    current = site(rt) / "fiscal-monthly" / "2026-10" / "current"
    html = (current / "index.html").read_text(encoding="utf-8")
    assert "财政收支执行情况" in html and "<svg" in html and "10月" in html
    data = json.loads((current / "data.json").read_text(encoding="utf-8"))
    assert data["formed_on"] == "2026-10-31" and data["due_on"] == "2026-11-27"
    assert len(data["rows"]) == 32 and isinstance(data["rows"][0]["amount_month"], float)
    schema = json.loads((current / "schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["rows"]["items"]["properties"]["amount_month"]["type"] == "number"
    assert (current / "data.csv").read_bytes().startswith("\ufeffperiod,kind,code".encode())
    [row] = ledger.rows(rt, "fiscal-monthly")
    assert row["status"] == "published" and row["content_hash"] == outcome.content_hash
    assert row["published_at"].astimezone(UTC) == datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    assert json.loads(row["receipts"])["site"]["path"] == "fiscal-monthly/2026-10/"
    assert outcome.to_dict(rt)["on_time"] is True
    assert "fiscal-monthly/2026-10/" in (site(rt) / "index.html").read_text(encoding="utf-8")


def test_invalid_data_publishes_nothing_records_the_reasons_and_tells_the_department(pub_rt, tmp_path):
    rows = sample_rows("fiscal/fiscal-2026-10.csv")
    rows[0]["amount_month"] = str(float(rows[0]["amount_month"]) + 1000)
    bad = write_csv(tmp_path / "bad.csv", rows)
    outcome = publish_period(pub_rt, "fiscal-monthly", "2026-10", source=str(bad))
    assert outcome.status == "failed"
    assert outcome.reasons and "合计 for 收入: amount_month" in outcome.reasons[0]
    assert not (site(pub_rt) / "fiscal-monthly" / "2026-10").exists()
    [row] = ledger.rows(pub_rt, "fiscal-monthly")
    assert row["status"] == "failed" and json.loads(row["reasons"]) == outcome.reasons
    [notice] = outbox(pub_rt, "publication_failed")
    assert notice["recipient"] == "格尔木市财政局" and notice["channel"] == "sandbox"
    assert json.loads(notice["payload"])["reasons"] == outcome.reasons
    from notifications.render import render

    rendered = render("publication_failed", "sandbox", json.loads(notice["payload"]))
    assert "2026-10" in rendered.text


def test_a_rerun_with_the_same_data_changes_nothing_and_a_correction_becomes_version_two(pub_rt, tmp_path):
    first = publish_period(pub_rt, "fiscal-monthly", "2026-10")
    again = publish_period(pub_rt, "fiscal-monthly", "2026-10")
    assert again.status == "unchanged" and again.version == 1
    assert len(ledger.rows(pub_rt, "fiscal-monthly")) == 1
    rows = sample_rows("fiscal/fiscal-2026-10.csv")
    rows[0]["name"] = "增值税（更正）"
    corrected = publish_period(pub_rt, "fiscal-monthly", "2026-10",
                               source=str(write_csv(tmp_path / "fixed.csv", rows)))
    assert corrected.status == "published" and corrected.version == 2
    assert corrected.content_hash != first.content_hash
    assert [r["status"] for r in ledger.rows(pub_rt, "fiscal-monthly")] == ["superseded", "published"]
    period_dir = site(pub_rt) / "fiscal-monthly" / "2026-10"
    assert (period_dir / "current").readlink() == Path("versions/v2")
    assert "增值税（更正）" in (period_dir / "current" / "index.html").read_text(encoding="utf-8")
    assert "第2版" in (period_dir / "current" / "index.html").read_text(encoding="utf-8")
    assert "增值税（更正）" not in (period_dir / "versions" / "v1" / "index.html").read_text(encoding="utf-8")
    assert "已更正" in (period_dir / "versions" / "index.html").read_text(encoding="utf-8")


def test_an_xlsx_file_is_read_like_a_csv(pub_rt):
    outcome = publish_period(pub_rt, "fiscal-monthly", "2026-09")
    assert outcome.status == "published"
    assert ledger.rows(pub_rt, "fiscal-monthly")[0]["source"].endswith("fiscal-2026-09.xlsx")


def test_an_http_json_source_and_a_cms_target_get_a_receipt(pub_rt, httpserver):
    rows = sample_rows("fiscal/fiscal-2026-10.csv")
    httpserver.expect_request("/fiscal/2026-10").respond_with_json({"rows": rows})
    httpserver.expect_request("/cms", method="POST").respond_with_json({"id": "cms-8841"}, status=201)
    pub_rt = with_settings(pub_rt, cms_url=httpserver.url_for("/cms"))
    source = httpserver.url_for("/fiscal/2026-10")
    outcome = publish_period(pub_rt, "fiscal-monthly", "2026-10", source=source)
    assert outcome.status == "published", outcome.reasons
    assert outcome.receipts["cms"] == {"ok": True, "status": 201, "receipt": "cms-8841"}
    posted = json.loads(httpserver.log[-1][0].get_data())
    assert posted["period"] == "2026-10" and "<svg" in posted["html"]
    assert httpserver.log[-1][0].headers["Idempotency-Key"].endswith(outcome.content_hash)


def test_a_source_that_is_down_or_a_cms_that_refuses_publishes_nothing(pub_rt, httpserver):
    httpserver.expect_request("/down").respond_with_data("maintenance", status=503)
    down = publish_period(pub_rt, "fiscal-monthly", "2026-10", source=httpserver.url_for("/down"))
    assert down.status == "failed" and "answered HTTP 503" in down.reasons[0]
    unreachable = publish_period(pub_rt, "fiscal-monthly", "2026-10", source="http://127.0.0.1:9/x")
    assert unreachable.status == "failed" and "unreachable" in unreachable.reasons[0]
    httpserver.expect_request("/cms", method="POST").respond_with_data("no", status=500)
    pub_rt = with_settings(pub_rt, cms_url=httpserver.url_for("/cms"))
    refused = publish_period(pub_rt, "fiscal-monthly", "2026-10")
    assert refused.status == "failed" and refused.receipts["cms"]["ok"] is False
    assert not (site(pub_rt) / "fiscal-monthly" / "2026-10" / "current").exists()
    assert [r["status"] for r in ledger.rows(pub_rt, "fiscal-monthly")] == ["failed"] * 3
    assert len(outbox(pub_rt, "publication_failed")) == 3


def test_a_period_not_yet_formed_is_refused(pub_rt):
    with pytest.raises(InvalidInput, match="not formed yet"):
        publish_period(pub_rt, "fiscal-monthly", "2026-11")


def test_land_and_every_construction_project_are_published(pub_rt):
    land = publish_period(pub_rt, "land-quarterly", "2026-Q3")
    assert land.status == "published"
    html = (site(pub_rt) / "land-quarterly" / "2026-Q3" / "current" / "index.html").read_text("utf-8")
    assert "各用途土地供应面积" in html and "<svg" in html
    outcomes = publish_task_period(pub_rt, "construction-progress", "2026-10")
    assert [o.status for o in outcomes] == ["published"] * 3
    assert {o.subject for o in outcomes} == {"2019-632801-48-01-000123", "2020-632801-84-01-000456",
                                            "2021-632801-76-01-000789"}


def test_the_annual_report_counts_gkflows_own_applications(pub_rt, clock):
    clerk = Actor("li", "window_clerk", "格尔木市人民政府办公室")
    handler = Actor("zhao", "handler", "格尔木市人民政府办公室")
    received = [datetime(2025, 3, 2, 2, tzinfo=UTC), datetime(2025, 6, 2, 2, tzinfo=UTC),
                datetime(2025, 12, 1, 2, tzinfo=UTC)]
    cases = []
    for i, at in enumerate(received):
        clock.set(at)
        cases.append(submit_case(pub_rt, "gov-info-request", Applicant(f"申请人{i}", "13900000000"),
                                 received_at=at, intake_channel="online" if i else "window",
                                 fields={"requested_information": "预算"}).case_no)
    paper = "根据纸质记录补录"  # entered in December: back-dated steps need a reason
    fire(pub_rt, cases[0], "accept", clerk, occurred_at=datetime(2025, 3, 3, 2, tzinfo=UTC),
         backdate_reason=paper)
    fire(pub_rt, cases[0], "decide", handler, fields={"outcome": "予以公开"},
         occurred_at=datetime(2025, 3, 10, 2, tzinfo=UTC), backdate_reason=paper)
    fire(pub_rt, cases[1], "accept", clerk, occurred_at=datetime(2025, 6, 3, 2, tzinfo=UTC),
         backdate_reason=paper)
    fire(pub_rt, cases[1], "decide", handler, fields={"outcome": "信息不存在"},
         occurred_at=datetime(2025, 8, 1, 2, tzinfo=UTC), backdate_reason=paper)  # past its 20 working days
    clock.set(datetime(2026, 1, 10, 2, tzinfo=UTC))
    outcome = publish_period(pub_rt, "disclosure-annual", "2025")
    assert outcome.status == "published" and outcome.due_on.isoformat() == "2026-01-31"
    page = site(pub_rt) / "disclosure-annual" / "2025" / "current"
    data = json.loads((page / "data.json").read_text("utf-8"))
    counts = {(r["table"], r["item"]): r["count"] for r in data["rows"]}
    assert counts[("收到申请", "合计")] == 3 and counts[("收到申请", "网络申请")] == 2
    assert counts[("办理结果", "予以公开")] == 1 and counts[("办理结果", "信息不存在")] == 1
    assert counts[("办理结果", "结转下年度继续办理")] == 1
    assert counts[("办理时效", "逾期答复")] == 1 and counts[("办理时效", "合计")] == 3


def test_a_milestone_reached_by_a_project_case_publishes_its_progress(pub_rt):
    case_no = submit_case(pub_rt, "construction-project", Applicant("格尔木市水利局", "13900000001"), fields={
        "project_name": "格尔木河生态综合治理工程（三期）", "project_code": "2026-632801-76-01-000999",
        "plan_document": "格政〔2026〕1号", "total_investment": "12000"}).case_no
    fire(pub_rt, case_no, "approve", Actor("zhao", "handler", "格尔木市发展和改革委员会"),
         fields={"milestone": "立项批复", "approval_no": "格发改〔2026〕88号",
                 "approved_investment": "12000"})
    [trigger] = outbox(pub_rt, "construction.milestone")
    assert trigger["kind"] == "trigger" and trigger["status"] == "created"
    [done] = consume_milestones(pub_rt)
    assert done["status"] == "published" and done["period"] == "2026-11-10"
    assert done["subject"] == "2026-632801-76-01-000999"
    page = site(pub_rt) / "construction-progress" / "2026-632801-76-01-000999" / "2026-11-10" / "current"
    assert "重要节点：立项批复" in (page / "index.html").read_text("utf-8")
    [trigger] = outbox(pub_rt, "construction.milestone")
    assert trigger["status"] == "delivered"
    assert consume_milestones(pub_rt) == []


def test_status_lists_due_late_published_and_failed_periods(pub_rt, tmp_path):
    publish_period(pub_rt, "fiscal-monthly", "2026-10")
    publish_period(pub_rt, "land-quarterly", "2026-Q3", source=str(tmp_path / "missing.csv"))
    entries = publication_status(pub_rt)
    by = {(e["task"], e["period"], e["status"]): e for e in entries}
    published = by[("fiscal-monthly", "2026-10", "published")]
    assert published["on_time"] is True and published["late"] is False
    assert published["published_at"] == "2026-11-10T10:00:00+08:00"
    assert by[("fiscal-monthly", "2026-09", "due")]["late"] is True  # due 2026-10-29
    assert by[("fiscal-monthly", "2025-11", "due")]["due_on"] == "2025-12-26"
    assert by[("land-quarterly", "2026-Q3", "failed")]["reasons"][0].startswith("source file not found")
    assert ("fiscal-monthly", "2026-11", "due") not in by  # not formed yet


def test_the_published_site_is_served_under_gk(pub_rt):
    from gkflow.web.app import create_app

    publish_period(pub_rt, "fiscal-monthly", "2026-10")
    client = TestClient(create_app(pub_rt))
    page = client.get("/gk/fiscal-monthly/2026-10/")
    assert page.status_code == 200 and "财政收支执行情况" in page.text
    assert client.get("/gk/fiscal-monthly/2026-10/data.csv").headers["content-type"].startswith("text/csv")
    assert client.get("/gk/fiscal-monthly/2026-10/versions/v1/data.json").json()["period"] == "2026-10"
    assert "fiscal-monthly/2026-10/" in client.get("/gk/").text
    assert client.get("/gk/fiscal-monthly/2026-09/").status_code == 404
    assert client.get("/gk/../gkflow.db").status_code == 404


def test_a_milestone_whose_publication_fails_stays_in_the_outbox_and_is_published_later(
        pub_rt, httpserver):
    from datetime import timedelta

    case_no = submit_case(pub_rt, "construction-project", Applicant("格尔木市水利局", "13900000001"), fields={
        "project_name": "格尔木河生态综合治理工程（三期）", "project_code": "2026-632801-76-01-000999",
        "plan_document": "格政〔2026〕1号", "total_investment": "12000"}).case_no
    fire(pub_rt, case_no, "approve", Actor("zhao", "handler", "格尔木市发展和改革委员会"),
         fields={"milestone": "立项批复", "approval_no": "格发改〔2026〕88号",
                 "approved_investment": "12000"})
    httpserver.expect_oneshot_request("/cms", method="POST").respond_with_data("down", status=503)
    cms_rt = with_settings(pub_rt, cms_url=httpserver.url_for("/cms"))
    [failed] = consume_milestones(cms_rt)
    assert failed["status"] == "failed"
    [trigger] = outbox(pub_rt, "construction.milestone")
    assert trigger["status"] == "temporary-failure" and "503" in trigger["last_error"]
    assert consume_milestones(cms_rt) == []  # not before its retry time
    httpserver.expect_request("/cms", method="POST").respond_with_json({"id": "cms-1"}, status=201)
    pub_rt.clock.advance(timedelta(minutes=11))
    [done] = consume_milestones(cms_rt)
    assert done["status"] == "published"
    [trigger] = outbox(pub_rt, "construction.milestone")
    assert trigger["status"] == "delivered"


def test_a_first_publication_after_failed_attempts_is_the_first_edition_not_a_correction(pub_rt, tmp_path):
    late = publish_period(pub_rt, "fiscal-monthly", "2026-10", source=str(tmp_path / "not-there-yet.csv"))
    assert late.status == "failed"
    published = publish_period(pub_rt, "fiscal-monthly", "2026-10")
    assert published.status == "published" and published.version == 2  # the ledger counts attempts
    page = (site(pub_rt) / "fiscal-monthly" / "2026-10" / "current" / "index.html").read_text("utf-8")
    assert "第1版" in page and "更正" not in page
    index = (site(pub_rt) / "index.html").read_text("utf-8")
    assert "第1版" in index and "第2版" not in index


def test_status_expects_a_project_s_monthly_progress_only_while_it_runs(pub_rt):
    submit_case(pub_rt, "construction-project", Applicant("格尔木市水利局", "13900000001"),
                received_at=datetime(2026, 9, 10, 10, 0, tzinfo=pub_rt.settings.tz), fields={
                    "project_name": "格尔木河生态综合治理工程（三期）",
                    "project_code": "2026-632801-76-01-000999",
                    "plan_document": "格政〔2026〕1号", "total_investment": "12000"})
    entries = publication_status(pub_rt, task="construction-progress", today=date(2026, 11, 29))
    months = sorted(e["period"] for e in entries if e["subject"] == "2026-632801-76-01-000999")
    assert months == ["2026-09", "2026-10"]
