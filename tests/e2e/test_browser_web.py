"""Real headless Chromium (Debian's package, driven by Playwright) against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gkflow.delivery.outbox import claim, mark_failed
from gkflow.domain.cases import Actor
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.web.app import create_app
from tests.helpers import GOV, served

pytestmark = [pytest.mark.slow, pytest.mark.browser]  # Chromium and a uvicorn server

PASSWORD = "gkflow-demo"


@pytest.fixture
def server(sqlite_rt: Runtime) -> Iterator[str]:
    with served(create_app(sqlite_rt)) as base:
        yield base


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('登录')")
    page.wait_for_url(f"{base}/staff")


def test_an_applicant_looks_up_a_case_and_rates_it(browser, server, sqlite_rt):
    submitted = submit_case(
        sqlite_rt, GOV, Applicant("张三丰", "13912345678"), fields={"requested_information": "2025年部门预算"}
    )
    clerk = Actor("clerk", "window_clerk", "格尔木市人民政府办公室")
    fire(sqlite_rt, submitted.case_no, "accept", clerk)
    fire(
        sqlite_rt,
        submitted.case_no,
        "decide",
        Actor("clerk", "handler", clerk.department),
        fields={"outcome": "予以公开"},
    )
    fire(sqlite_rt, submitted.case_no, "deliver", clerk)

    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(f"{server}/")
    page.click("a.card[href='/status']")
    page.fill("input[name=case_no]", submitted.case_no)
    page.fill("input[name=code]", submitted.query_code)
    page.click("button:has-text('查询')")
    assert page.locator("h2").first.inner_text() == "当前进度：已办结"
    assert "张**" in page.content() and "张三丰" not in page.content()
    page.check("input[name=level][value='5']")
    page.fill("textarea[name=comment]", "窗口服务热情")
    page.click("button:has-text('提交评价')")
    assert page.locator("p.ok").inner_text() == "感谢您的评价！"
    assert "您已评价：非常满意" in page.locator("#rating").inner_text()
    page.close()


def test_a_clerk_registers_a_case_advances_it_to_completion_and_sees_a_conflict(browser, server):
    clerk = browser.new_context()
    other = browser.new_context()
    try:
        page = clerk.new_page()
        _login(page, server, "clerk")
        page.click("a:has-text('窗口收件登记')")
        page.select_option("select[name=item]", GOV)
        page.click("button:has-text('选择事项')")
        page.fill("input[name=name]", "王小明")
        page.fill("input[name=phone]", "13800001111")
        page.fill("input[name=f_requested_information]", "2025年部门决算")
        page.check("input[name=material_0]")
        page.click("button:has-text('登记并打印登记回执')")
        assert page.locator("h1").inner_text() == "政府信息公开申请登记回执"
        case_no = page.locator("#case-no").inner_text()
        assert len(page.locator("#query-code").inner_text()) == 8
        assert page.locator(".qr svg").count() == 1

        page.click("a:has-text('进入办件')")
        page.click("form[data-action=accept] button")
        assert "已办理：受理" in page.locator("p.ok").inner_text()
        page.fill("form[data-action=decide] [name=f_outcome]", "予以公开")
        page.click("form[data-action=decide] button")
        assert "当前环节：已作出答复" in page.content()

        rival = other.new_page()
        _login(rival, server, "clerk")
        rival.goto(f"{server}/staff/cases/{case_no}")  # the same case, open in a second session

        page.click("form[data-action=deliver] button")
        assert "当前环节：已办结" in page.content()

        rival.click("form[data-action=deliver] button")
        alert = rival.locator("p.alert").inner_text()
        assert "此件已先行办理" in alert and "已办结" in alert

        page.goto(f"{server}/staff")
        assert case_no not in page.content()  # completed cases leave the open tab …
        page.click("a[data-tab=completed]")
        assert case_no in page.content()  # … for the completed one
    finally:
        clerk.close()
        other.close()


def test_an_administrator_retries_a_dead_letter(browser, server, sqlite_rt):
    submit_case(sqlite_rt, GOV, Applicant("李四", "13700001234"), fields={"requested_information": "x"})
    (message, *_rest) = claim(sqlite_rt, worker="browser-test", limit=1)
    mark_failed(sqlite_rt, message.id, "browser-test", status="dead", error="gateway refused")
    context = browser.new_context()
    try:
        page = context.new_page()
        _login(page, server, "admin")
        page.goto(f"{server}/admin")
        page.click("a.kpi-card[href='/admin/notices?status=failed']")
        row = page.locator(f"tr[data-outbox='{message.id}']")
        assert "gateway refused" in row.inner_text()
        row.locator("button:has-text('重试')").click()
        assert page.locator("p.ok").inner_text() == f"通知 #{message.id} 已重新排队投递。"
        assert "待发送" in page.locator(f"tr[data-outbox='{message.id}']").inner_text()
    finally:
        context.close()
