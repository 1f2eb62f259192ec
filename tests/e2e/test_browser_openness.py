"""The directory, the licence page and the scorecard in real headless Chromium, at phone and desktop
sizes; screenshots go to GKFLOW_SCREENSHOTS (or the test's temp folder)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from gkflow.clock import FixedClock
from gkflow.runtime import Runtime
from tests.e2e import test_browser_web as web
from tests.integration.test_scorecard import seed_december

# The server of the other browser tests (fixtures are found by their names here).
server, _login = web.server, web._login

pytestmark = pytest.mark.browser
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1366, "height": 900}


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GKFLOW_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    )


def test_the_public_reads_the_directory_and_the_licence_page_on_a_phone(
    browser: Any,
    server: str,
    sqlite_rt: Runtime,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    seed_december(sqlite_rt, clock)
    clock.set(datetime(2027, 1, 5, 1, 0, tzinfo=UTC))
    folder = shots(tmp_path)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport)
        page.goto(f"{server}/gk/directory/")
        assert page.locator("h1").inner_text() == "政务公开事项标准目录"
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(folder / f"directory-{name}.png"), full_page=True)
        page.screenshot(path=str(folder / f"directory-{name}-first-screen.png"))
        page.click("a:has-text('安全生产')")
        page.click("a:has-text('烟花爆竹经营（零售）许可结果')")
        row = page.locator("table tbody tr").first.inner_text()
        assert "2026-12-07" in row and "按时" in row
        assert "GK2026" not in page.content()  # no case number on a public page
        page.screenshot(path=str(folder / f"directory-entry-{name}.png"), full_page=True)
        page.goto(f"{server}/gk/xzxk/")
        assert "YH2026-01" in page.content() and "格尔木市昆仑烟花销售店" in page.content()
        page.screenshot(path=str(folder / f"licences-{name}.png"), full_page=True)
        page.close()


def test_an_administrator_ranks_drills_down_scores_and_exports_in_chromium(
    browser: Any,
    server: str,
    sqlite_rt: Runtime,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    cases = seed_december(sqlite_rt, clock)
    clock.set(datetime(2027, 1, 5, 1, 0, tzinfo=UTC))
    folder = shots(tmp_path)
    evidence = tmp_path / "纪要.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% gkflow test\n")
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    try:
        page = context.new_page()
        _login(page, server, "admin")
        page.click("nav a:has-text('部门考核')")
        page.fill("input[name=period]", "2026-12")
        page.click("button:has-text('查看')")
        assert page.locator("table.scorecard tbody tr").count() >= 10
        assert page.locator("svg[aria-label='各部门考核得分']").count() == 1
        page.screenshot(path=str(folder / "scorecard-desktop.png"), full_page=True)

        page.select_option("select[name=department]", "格尔木市人民政府办公室")
        page.select_option("select[name=kind]", "manual")
        page.select_option("select[name=item]", "organisation")
        page.fill("input[name=points]", "4")
        page.fill("textarea[name=reason]", "主要负责人听取专题汇报")
        page.set_input_files("input[name=evidence_file]", str(evidence))
        page.click("button:has-text('写入评分记录')")
        assert "已写入" in page.locator("p.ok").inner_text()

        page.click("table.scorecard a:has-text('格尔木市人民政府办公室')")
        section = page.locator("#info_requests_on_time")
        assert "1/3" in section.locator("h2").inner_text()
        assert section.locator(f"a:has-text('{cases['late']}')").count() == 1
        assert "主要负责人听取专题汇报" in page.content()
        page.screenshot(path=str(folder / "scorecard-department-desktop.png"), full_page=True)
        section.locator(f"a:has-text('{cases['late']}')").click()  # drill down to the case itself
        assert cases["late"] in page.locator("h1").inner_text()

        page.goto(f"{server}/admin/scorecard?period=2026-12")
        with page.expect_download() as download:
            page.click("a:has-text('导出 Excel')")
        book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert any(row[1].value == "格尔木市人民政府办公室" for row in book["排名"].iter_rows(min_row=3))

        phone = context.new_page()
        phone.set_viewport_size(PHONE)
        phone.goto(f"{server}/admin/scorecard?period=2026-12")
        phone.screenshot(path=str(folder / "scorecard-phone.png"), full_page=True)
        phone.screenshot(path=str(folder / "scorecard-phone-first-screen.png"))
    finally:
        context.close()
