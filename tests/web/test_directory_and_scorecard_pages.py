"""The directory's public pages and open data, the staff recording form and the admin scorecard
over HTTP (TestClient on a real SQLite database)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from gkflow.clock import FixedClock
from gkflow.runtime import Runtime
from gkflow.services.scorecard import compute_scorecard
from tests.web.conftest import csrf_of, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JAN_5 = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)


def test_the_directory_lists_every_area_and_filters_by_area_and_department(client: TestClient) -> None:
    page = client.get("/gk/directory/")
    assert page.status_code == 200
    for area in (
        "城乡规划",
        "重大建设项目",
        "财政预决算",
        "税收管理",
        "环境保护",
        "食品药品监管",
        "安全生产",
        "公共文化服务",
        "公共法律服务",
    ):
        assert area in page.text
    assert "本地口径" in page.text and "烟花爆竹经营（零售）许可结果" in page.text
    safety = client.get("/gk/directory/areas/work-safety")
    assert "危险化学品" in safety.text and "财政收支" not in safety.text
    dept = client.get("/gk/directory/departments/格尔木市财政局")
    assert "全市财政收支执行情况" in dept.text and "烟花爆竹" not in dept.text
    assert client.get("/gk/directory/areas/nope").status_code == 404
    assert client.get("/gk/directory/departments/没有这个部门").status_code == 404
    assert client.get("/gk/directory", follow_redirects=False).status_code == 307


def test_an_entry_page_shows_its_six_elements_and_the_text_of_its_basis(client: TestClient) -> None:
    page = client.get("/gk/directory/entries/government-budget")
    assert page.status_code == 200
    for shown in (
        "公开依据",
        "批准后二十日内由本级政府财政部门向社会公开",
        "格尔木市财政局",
        "批准后二十日内",
        "20个自然日",
        "政府门户网站",
        "公开对象",
        "公开要求",
    ):
        assert shown in page.text
    assert client.get("/gk/directory/entries/no-such-entry").status_code == 404


def test_the_open_data_carries_every_entry_in_json_and_csv(client: TestClient) -> None:
    data = client.get("/gk/directory/data.json").json()
    codes = {e["code"] for e in data}
    assert {
        "fiscal-monthly",
        "land-quarterly",
        "construction-progress",
        "disclosure-annual",
        "fireworks-licences",
        "scorecard-monthly",
    } <= codes
    fiscal = next(e for e in data if e["code"] == "fiscal-monthly")
    assert fiscal["cadence"]["cron"] == "0 9 5 * *" and fiscal["automated"] is True
    assert "task" not in fiscal and "trigger" not in fiscal["cadence"]  # no internal wiring in public
    assert fiscal["punctuality"]["open_overdue"] == 0  # a fresh install owes nothing overdue
    raw = client.get("/gk/directory/data.csv")
    assert raw.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["事项编码", "版本", "生效日期", "领域", "事项名称"] and len(rows) == len(data) + 1


def test_an_administrator_records_a_quarter_with_its_evidence_and_staff_can_open_the_file(
    client: TestClient, app_rt: Runtime, clock: FixedClock
) -> None:
    clock.set(datetime(2027, 4, 30, 2, 0, tzinfo=UTC))
    csrf = login(client, "admin")
    page = client.get("/staff/openness?department=格尔木市市场监督管理局")
    assert "食品安全监督抽检信息" in page.text and "逾期未公开" in page.text  # 2026-Q4 nobody recorded
    form = {
        "csrf_token": csrf,
        "entry": "sampling-results",
        "subject": "2027-Q1",
        "url": "https://e.org/q1",
        "published_on": "2027-04-20",
    }
    answer = client.post(
        "/staff/openness/record", data=form, files={"evidence_file": ("截图.png", PNG, "image/png")}
    )
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"])
    assert "已登记" in page.text
    link = next(part.split('"')[0] for part in page.text.split('href="/staff/evidence/')[1:])
    assert client.get(f"/staff/evidence/{link}").content == PNG
    bad = client.post(
        "/staff/openness/record",
        data={**form, "subject": "2026-Q4"},
        files={"evidence_file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert bad.status_code == 422 and "PDF" in bad.text
    not_ofd = io.BytesIO()  # a zip (a .docx, a .jar …) is not an OFD unless it holds OFD.xml
    with zipfile.ZipFile(not_ofd, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    bad = client.post(
        "/staff/openness/record",
        data={**form, "subject": "2026-Q4"},
        files={"evidence_file": ("纪要.ofd", not_ofd.getvalue(), "application/ofd")},
    )
    assert bad.status_code == 422 and "OFD" in bad.text
    entry = client.get("/gk/directory/entries/sampling-results")
    assert "2027-04-20" in entry.text and "逾期未公开" in entry.text  # Q1 on time, Q4 still open and late


def test_the_scorecard_is_for_administrators_and_exports_csv_and_xlsx(
    client: TestClient, app_rt: Runtime, clock: FixedClock
) -> None:
    clock.set(JAN_5)
    login(client, "clerk")
    assert client.get("/admin/scorecard").status_code == 403
    client.post("/staff/logout", data={"csrf_token": csrf_of(client.get("/staff").text)})
    csrf = login(client, "admin")
    page = client.get("/admin/scorecard?period=2026-12")
    assert page.status_code == 200 and "<svg" in page.text and "格尔木市应急管理局" in page.text
    entry = {
        "csrf_token": csrf,
        "period": "2026-12",
        "department": "格尔木市应急管理局",
        "kind": "manual",
        "item": "organisation",
        "points": "4.5",
        "reason": "领导小组健全",
        "evidence": "",
    }
    answer = client.post(
        "/admin/scorecard/entries", data=entry, files={"evidence_file": ("纪要.png", PNG, "image/png")}
    )
    assert answer.status_code == 303, answer.text
    assert "已写入" in client.get(answer.headers["location"]).text
    refused = client.post("/admin/scorecard/entries", data={**entry, "points": "9"})
    assert refused.status_code == 422
    card = compute_scorecard(app_rt, "2026-12")
    safety = next(d for d in card.departments if d.department == "格尔木市应急管理局")
    assert safety.manual == 4.5
    drill = client.get("/admin/scorecard/department?period=2026-12&department=格尔木市应急管理局")
    assert "组织领导" in drill.text and "4.5" in drill.text and "领导小组健全" in drill.text
    exported = client.get("/admin/scorecard/export.csv?period=2026-12")
    assert exported.content.startswith(b"\xef\xbb\xbf") and "格尔木市应急管理局" in exported.content.decode(
        "utf-8-sig"
    )
    book = load_workbook(io.BytesIO(client.get("/admin/scorecard/export.xlsx?period=2026-12").content))
    assert book.sheetnames == ["排名", "明细", "评分记录"]
    ranking = [[c.value for c in row] for row in book["排名"].iter_rows()]
    assert ranking[1][:3] == ["排名", "部门", "总分"]
    assert any(row[1] == "格尔木市应急管理局" for row in ranking[2:])
    assert [c.value for c in next(book["评分记录"].iter_rows(min_row=2))][2:5] == [
        "manual",
        "organisation",
        4.5,
    ]
