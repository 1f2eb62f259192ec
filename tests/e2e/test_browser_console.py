"""The clerk's worklist and the administrator's console in real Chromium, at desktop and phone sizes,
each page checked by axe-core (no serious or critical WCAG violation). Set GKFLOW_SCREENSHOTS to a
folder to keep a screenshot of every page visited."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gkflow.delivery.outbox import claim, mark_failed
from gkflow.domain.cases import Actor
from gkflow.runtime import Runtime
from gkflow.services.case_search import search_cases
from gkflow.services.cases import Applicant, fire, submit_case
from tests.e2e.test_browser_web import GOV, PASSWORD, server  # noqa: F401 - the server fixture

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
DEPT = "格尔木市人民政府办公室"
SHOTS = os.environ.get("GKFLOW_SCREENSHOTS")


def check(page: Any, name: str) -> None:
    """No serious or critical axe-core violation; a screenshot when asked for."""
    from axe_playwright_python.sync_playwright import Axe

    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
    violations = Axe().run(page).response["violations"]
    bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
           for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: " + "\n".join(bad)


def login(context: Any, base: str, username: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('登录')")
    page.wait_for_url(f"{base}/staff")
    return page


@pytest.fixture
def context_of(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(size: str) -> Any:
        context = browser.new_context(viewport=SIZES[size])
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def _submit(rt: Runtime, name: str, phone: str) -> str:
    return submit_case(rt, GOV, Applicant(name, phone), fields={"requested_information": "预算"}).case_no


def _complete(rt: Runtime, case_no: str) -> None:
    fire(rt, case_no, "accept", Actor("clerk", "window_clerk", DEPT))
    fire(rt, case_no, "decide", Actor("clerk", "handler", DEPT), fields={"outcome": "予以公开"})
    fire(rt, case_no, "deliver", Actor("clerk", "window_clerk", DEPT))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_clerk_finds_a_case_by_name_phone_tail_and_number(context_of, server, sqlite_rt, size):  # noqa: F811
    wang = _submit(sqlite_rt, "王小明", "13912345678")
    _submit(sqlite_rt, "李四", "13800001111")
    done = _submit(sqlite_rt, "王小红", "13700002222")
    _complete(sqlite_rt, done)
    page = login(context_of(size), server, "clerk")
    assert page.locator("a[data-tab=open] .count").inner_text() == "2"
    check(page, f"worklist-{size}")
    page.fill("#q", "小明")
    page.click("form.search button[type=submit]")
    rows = page.locator("tr[data-case]")
    assert rows.count() == 1 and wang in rows.first.inner_text() and "王**" in rows.first.inner_text()
    assert "剩 15个工作日" in rows.first.inner_text()
    page.fill("#q", "2222")  # the phone tail of a completed case: searching looks in every case
    page.click("form.search button[type=submit]")
    assert "已办结" in page.locator(f"tr[data-case='{done}']").inner_text()
    assert page.locator("a[data-tab=all]").get_attribute("aria-current") == "page"
    page.fill("#q", wang.split("-")[1][:4].lower())
    page.click("form.search button[type=submit]")
    assert page.locator("tr[data-case]").count() == 1
    check(page, f"worklist-search-{size}")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_registration_cannot_double_on_reload_back_or_double_click(
        context_of, server, sqlite_rt, size):  # noqa: F811
    page = login(context_of(size), server, "clerk")

    def fill_form() -> None:
        page.goto(f"{server}/staff/register?item={GOV}")
        page.fill("input[name=name]", "赵六")
        page.fill("input[name=phone]", "13600003333")
        page.fill("input[name=f_requested_information]", "2025年决算")
        page.check("input[name=material_0]")

    fill_form()
    check(page, f"register-{size}")
    page.click("button:has-text('登记并打印登记回执')")
    assert page.locator("h1").inner_text() == "政府信息公开申请登记回执"
    case_no = page.locator("#case-no").inner_text()
    code = page.locator("#query-code").inner_text()
    check(page, f"slip-{size}")
    page.reload()  # a GET after the redirect: nothing is posted again
    assert page.locator("#query-code").inner_text() == code
    page.go_back()  # back to the filled form, and submit it again
    page.click("button:has-text('登记并打印登记回执')")
    assert page.locator("#case-no").inner_text() == case_no
    assert "没有重复登记" in page.locator("p.ok").inner_text()
    fill_form()  # a new form: a double click still makes one case
    page.dblclick("button:has-text('登记并打印登记回执')")
    page.wait_for_selector("#case-no")
    second = page.locator("#case-no").inner_text()
    assert page.locator("#query-code").count() == 1
    found = search_cases(sqlite_rt, None, q="赵六")
    assert sorted(r.case_no for r in found.items) == sorted({case_no, second}) and len(found.items) == 2


def test_any_case_reprints_its_slip_without_the_query_code_and_a_lost_code_is_reissued(
        context_of, server, sqlite_rt):  # noqa: F811
    case_no = _submit(sqlite_rt, "孙七", "13500004444")
    fire(sqlite_rt, case_no, "accept", Actor("clerk", "window_clerk", DEPT))
    page = login(context_of("phone"), server, "clerk")
    page.goto(f"{server}/staff/cases/{case_no}")
    page.click("a:has-text('打印凭证')")
    assert page.locator("#query-code").count() == 0
    assert "窗口重置" in page.locator("#query-code-cell").inner_text()
    check(page, "slip-reprint-phone")
    page.click("button:has-text('重置查询码')")
    code = page.locator("#query-code").inner_text()
    assert len(code) == 8
    public = page.context.new_page()
    public.goto(f"{server}/status/{case_no}?code={code}")
    assert "重置查询码" in public.content()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_completed_case_shows_its_outcome_and_finishing_date_not_a_clock(
        context_of, server, sqlite_rt, size):  # noqa: F811
    case_no = _submit(sqlite_rt, "周八", "13400005555")
    _complete(sqlite_rt, case_no)
    page = login(context_of(size), server, "clerk")
    page.goto(f"{server}/staff/cases/{case_no}")
    assert page.locator("#outcome").inner_text() == "已办结：予以公开"
    facts = page.locator("dl.facts").inner_text()
    assert "办结时间" in facts and "在承诺期限内办结" in facts and "计时中" not in facts
    assert "窗口工作人员" in page.locator("table").last.inner_text()  # roles in words, not codes
    check(page, f"case-completed-{size}")


def _busy(rt: Runtime, clock: Any, cases: int) -> None:
    """``cases`` cases over six months: a fifth completed and rated (a few badly), 200 dead notices."""
    from datetime import UTC, datetime, timedelta

    from gkflow.services.ratings import rate_case

    now = rt.now()
    clock.set(datetime(2025, 10, 1, 2, 0, tzinfo=UTC))
    for i in range(cases):
        if i % (cases // 6) == 0 and i:
            clock.advance(timedelta(days=28))
        submitted = submit_case(rt, GOV, Applicant(f"申请人{i % 97}号", f"139{i:08d}"),
                                fields={"requested_information": "预算"})
        if i % 5 == 0:
            _complete(rt, submitted.case_no)
            rate_case(rt, submitted.case_no, submitted.query_code, 1 if i % 45 == 0 else 5, None)
        elif i % 3 == 0:
            fire(rt, submitted.case_no, "accept", Actor("clerk", "window_clerk", DEPT))
    clock.set(now)
    for message in claim(rt, worker="test", limit=200):
        mark_failed(rt, message.id, "test", status="dead", error="gateway refused")


def test_the_dashboard_fits_two_screens_with_a_thousand_cases(
        context_of, server, sqlite_rt, clock):  # noqa: F811
    _busy(sqlite_rt, clock, 1000)
    page = login(context_of("desktop"), server, "admin")
    page.goto(f"{server}/admin")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2700, f"the dashboard is {height} px tall"
    assert page.locator("#kpi-open").inner_text() == "800"
    assert "目标 98%" in page.locator("#satisfaction svg").inner_html()
    check(page, "dashboard-desktop")
    page.click("a.kpi-card[href='/admin/notices?status=failed']")
    assert page.locator("tr[data-outbox]").count() == 50 and page.locator("a[rel=next]").count() == 1
    check(page, "notices-desktop")
    phone = login(context_of("phone"), server, "admin")
    phone.goto(f"{server}/admin")
    check(phone, "dashboard-phone")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_notice_reads_as_sent_with_the_e_mail_in_a_sandboxed_frame(
        context_of, server, sqlite_rt, size):  # noqa: F811
    submit_case(sqlite_rt, GOV, Applicant("吴九", "13300006666", email="wu@example.cn"),
                fields={"requested_information": "预算"})
    email = next(m for m in claim(sqlite_rt, worker="test", limit=5) if m.channel == "email")
    mark_failed(sqlite_rt, email.id, "test", status="dead", error="smtp refused")
    page = login(context_of(size), server, "admin")
    page.goto(f"{server}/admin/notices/{email.id}")
    assert "您的申请已收件" in page.locator("main").inner_text()  # the subject
    assert "09:30收件" in page.locator("#notice-text").inner_text() and "<" not in page.locator(
        "#notice-text").inner_text()
    frame = page.frame_locator("iframe.email")
    assert "您的申请已收件" in frame.locator("body").inner_text()
    assert page.locator("iframe.email").get_attribute("sandbox") == ""
    check(page, f"notice-{size}")
    page.click("button:has-text('重试')")
    assert "已重新排队投递" in page.locator("p.ok").inner_text()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_console_lists_are_readable(context_of, server, sqlite_rt, size):  # noqa: F811
    case_no = _submit(sqlite_rt, "郑十", "13200007777")
    _complete(sqlite_rt, case_no)
    from gkflow.services.ratings import rate_case
    from gkflow.services.window import reissue_query_code

    code = reissue_query_code(sqlite_rt, case_no, Actor("clerk", "window_clerk", DEPT))
    rate_case(sqlite_rt, case_no, code, 1, "窗口人员态度冷淡，等了很久也没有人解释")
    page = login(context_of(size), server, "admin")
    for path, name in (("/admin/publications", "publications"), ("/admin/rectifications", "rectifications"),
                       ("/admin/runs", "runs"), ("/admin/catalogue", "catalogue"),
                       (f"/admin/catalogue/{GOV}", "catalogue-item")):
        page.goto(server + path)
        check(page, f"{name}-{size}")
    page.goto(f"{server}/admin/rectifications")
    department = page.locator("table.rectifications td").nth(1)
    box = department.bounding_box()
    assert box and box["width"] > 100  # not one character per line
    page.goto(f"{server}/admin/publications")
    assert page.locator("#fresh-install").is_visible()


def test_api_docs_work_offline(context_of, server):  # noqa: F811
    page = context_of("desktop").new_page()
    elsewhere: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(server) else None)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=15000)
    assert page.locator(".opblock").count() > 10
    assert elsewhere == [] and problems == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_applicant_and_login_pages_pass_axe(context_of, server, sqlite_rt, size):  # noqa: F811
    case_no = _submit(sqlite_rt, "钱二", "13100008888")
    page = context_of(size).new_page()
    for path, name in (("/", "landing"), ("/status", "status-form"), ("/staff/login", "login")):
        page.goto(server + path)
        check(page, f"{name}-{size}")
    page.goto(f"{server}/status/{case_no}?code=WRONG234")
    check(page, f"status-not-found-{size}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
