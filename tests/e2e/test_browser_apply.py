"""The applicant's journey in real headless Chromium on a phone-sized viewport, against a real uvicorn
server: guide → apply with a PDF and a JPEG → SMS code from the sandbox inbox → confirmation → status
→ staff ask to correct one material → the applicant uploads it online → the due date restarts →
completion → rating. Screenshots go to GKFLOW_SHOTS (when set) to be looked at."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gkflow.clock import FixedClock
from gkflow.delivery.config import ChannelsConfig
from gkflow.delivery.dispatcher import drain
from gkflow.runtime import Runtime
from gkflow.web.app import create_app
from notifications.channels.sandbox import read_inbox
from tests.conftest import make_runtime
from tests.e2e.test_browser_web import PASSWORD
from tests.helpers import served
from tests.helpers_door import JPEG, PDF, PNG

pytestmark = pytest.mark.browser
PHONE = (390, 844)
DESK = (1366, 900)
SHOTS = os.environ.get("GKFLOW_SHOTS")


@pytest.fixture
def door_rt(tmp_path: Path) -> Iterator[Runtime]:
    # Monday 2026-12-07 09:30 in Golmud: the typed item versions (from 2026-12-01) are in force.
    rt = make_runtime(
        f"sqlite:///{tmp_path / 'door.db'}", tmp_path, FixedClock(datetime(2026, 12, 7, 1, 30, tzinfo=UTC))
    )
    yield rt
    rt.engine.dispose()


@pytest.fixture
def door_server(door_rt: Runtime) -> Iterator[str]:
    with served(create_app(door_rt)) as base:
        yield base


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('登录')")
    page.wait_for_url(f"{base}/staff")


def sms_code(rt: Runtime, tmp_path: Path) -> str:
    """Deliver what is due to the sandbox inbox and read the code out of the SMS text."""
    inbox = tmp_path / "inbox"
    drain(rt, worker="e2e", channels_config=ChannelsConfig(inbox_dir=inbox))
    texts = [
        m["text"] for m in read_inbox(inbox) if m["channel"] == "sms" and "验证码" in (m.get("text") or "")
    ]
    match = re.search(r"验证码(\d{6})", texts[0])
    assert match, texts
    return match.group(1)


def test_an_applicant_applies_corrects_online_and_rates_without_a_trip(
    browser, door_server, door_rt, tmp_path
):
    files = tmp_path / "files"
    files.mkdir()
    (files / "申请表.pdf").write_bytes(PDF)
    (files / "身份证.jpg").write_bytes(JPEG)
    (files / "身份证-清晰.png").write_bytes(PNG)
    applicant = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    staff = browser.new_context(viewport={"width": DESK[0], "height": DESK[1]})
    try:
        page = applicant.new_page()
        page.goto(f"{door_server}/items")
        shot(page, "p1-guide-list-phone")
        page.click("a.card[href='/items/gov-info-request']")
        assert page.locator("h1").inner_text() == "政府信息公开申请（依申请公开）"
        assert "承诺时限" in page.content() and "不计入时限" in page.content()
        shot(page, "p2-guide-phone")
        page.click("a.cta:has-text('在线申请')")

        page.fill("input[name=name]", "王小明")
        page.fill("input[name=phone]", "13800001111")
        page.fill("textarea[name=f_requested_information]", "2025年格尔木市部门预算公开表")
        page.check("input[name=f_delivery_method][value='电子数据（电子邮件）']")
        page.set_input_files("input[name=material_0]", str(files / "申请表.pdf"))
        page.set_input_files("input[name=material_1]", str(files / "身份证.jpg"))
        shot(page, "p3-apply-form-phone")
        page.click("button:has-text('下一步：核对信息')")
        assert page.locator("h1").inner_text() == "请核对申请信息"
        assert "申请表.pdf" in page.content() and "身份证.jpg" in page.content()
        page.click("button:has-text('获取短信验证码')")
        assert "验证码已发送至 138****1111" in page.content() and "演示环境" in page.content()
        shot(page, "p4-check-answers-phone")
        page.fill("input[name=code]", sms_code(door_rt, tmp_path))
        page.click("button:has-text('确认并提交申请')")

        assert page.locator("h1").inner_text() == "网上申请已提交"
        case_no = page.locator("#case-no").inner_text()
        query_code = page.locator("#query-code").inner_text()
        assert re.fullmatch(r"GK20261207-[A-Z0-9]{6}", case_no) and len(query_code) == 8
        shot(page, "p5-confirmation-phone")
        page.click("a:has-text('查看办理进度')")
        assert "当前进度：已收件" in page.content() and "已收到1个文件" in page.content()
        assert query_code not in page.url
        first_due = page.locator("dt:has-text('承诺办结日期') + dd").inner_text()
        assert first_due.startswith(door_rt.calendar.add_working_days(date(2026, 12, 7), 15).date.isoformat())

        # Staff, next day: the ID photo is unreadable; ask for it once more, with a public explanation.
        door_rt.clock.advance(timedelta(days=1))
        desk = staff.new_page()
        log_in(desk, door_server)
        desk.goto(f"{door_server}/staff/cases/{case_no}")
        assert desk.locator("#files tbody tr").count() == 2
        form = desk.locator("form[data-action=request_correction]")
        form.locator("input[type=checkbox][value='申请人身份证明（身份证、营业执照等）']").check()
        form.locator("textarea[name=f_corrections]").fill("身份证照片模糊，无法辨认")
        form.locator("input[name=f_correction_period]").fill("2026-12-22")
        form.locator("textarea[name=public_note]").fill("请上传清晰的身份证正反面照片")
        form.locator("textarea[name=comment]").fill("内部备注：此人上次也没带材料")
        shot(desk, "d1-staff-case-desk")
        form.locator("button").click()
        assert "已办理：一次性告知补正" in desk.locator("p.ok").inner_text()

        # The applicant, two days later, uploads exactly that material on the status page.
        door_rt.clock.advance(timedelta(days=2))
        page.goto(f"{door_server}/status/{case_no}")  # the half-hour pass has run out: the code again
        assert page.locator("input[name=case_no]").input_value() == case_no
        page.fill("input[name=code]", query_code)
        page.click("button:has-text('查询')")
        content = page.content()
        assert "请上传清晰的身份证正反面照片" in content and "内部备注" not in content
        assert page.locator("#correction input[type=file]").count() == 1
        shot(page, "p6-correction-requested-phone")
        page.set_input_files("#correction input[type=file]", str(files / "身份证-清晰.png"))
        page.click("button:has-text('提交补正材料')")
        assert "补正材料已提交" in page.content() and "当前进度：审查办理中" in page.content()
        restarted = door_rt.calendar.add_working_days(date(2026, 12, 10), 15).date.isoformat()
        assert page.locator("dt:has-text('承诺办结日期') + dd").inner_text().startswith(restarted)
        assert "办理时限自此重新起算" in page.content()
        shot(page, "p7-corrected-phone")

        # Staff decide with the typed outcome (条例第三十六条) and deliver (a new day: log in again).
        log_in(desk, door_server)
        desk.goto(f"{door_server}/staff/cases/{case_no}")
        decide = desk.locator("form[data-action=decide]")
        decide.locator("select[name=f_outcome]").select_option(
            "予以公开（提供信息或告知获取的方式、途径和时间）"
        )
        decide.locator("textarea[name=public_note]").fill("已通过电子邮件发送")
        decide.locator("button").click()
        desk.locator("form[data-action=deliver] button").click()
        assert "当前环节：已办结" in desk.content()
        shot(desk, "d2-staff-completed-desk")

        page.goto(f"{door_server}/status/{case_no}")  # within the pass: no code needed
        page.check("input[name=level][value='5']")
        page.click("button:has-text('提交评价')")
        assert page.locator("p.ok").first.inner_text() == "感谢您的评价！"
        shot(page, "p8-rated-phone")
    finally:
        applicant.close()
        staff.close()


def test_the_look_up_form_posts_the_code_and_an_old_link_moves_it_out_of_the_url(
    browser, door_server, door_rt
):
    from gkflow.services.cases import Applicant, submit_case

    case = submit_case(
        door_rt,
        "gov-info-request",
        Applicant("李四", "13700001234"),
        fields={"requested_information": "2026年预算"},
    )
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    try:
        page = context.new_page()
        page.goto(f"{door_server}/status")
        page.fill("input[name=case_no]", case.case_no.lower())
        page.fill("input[name=code]", case.query_code)
        page.click("button:has-text('查询')")
        assert page.url == f"{door_server}/status/{case.case_no}" and "当前进度：已收件" in page.content()
        other = context.new_page()
        other.goto(f"{door_server}/status/{case.case_no}?code={case.query_code}")
        assert other.url == f"{door_server}/status/{case.case_no}"
        shot(page, "p9-status-phone")
    finally:
        context.close()
