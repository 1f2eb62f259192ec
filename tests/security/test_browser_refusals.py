"""What a person sees when refused, in real headless Chromium at phone and desktop sizes: the login
wait after repeated wrong passwords, the demo account from another machine, a look-up that must wait,
and a refused input. Chinese text, no internal codes beyond the page's error line, no traceback."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case
from gkflow.services.lookup_limits import KEY_POLICY
from gkflow.web.app import create_app
from tests.helpers import served, with_settings

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
# Kept after the run, to look at: $TMPDIR/gkflow-screenshots/security/*.png
SHOTS = Path(tempfile.gettempdir()) / "gkflow-screenshots" / "security"


@pytest.fixture
def server(sqlite_rt: Runtime) -> Iterator[str]:
    # The browser runs on this machine; a proxy on loopback names the (remote) client.
    app = create_app(with_settings(sqlite_rt, trusted_proxies="127.0.0.1"))
    with served(app, proxy_headers=False) as base:
        yield base


def _page(browser: Any, size: str, remote: str | None = None) -> Any:  # noqa: F811
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN",
                                  extra_http_headers={"X-Forwarded-For": remote} if remote else None)
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _try_login(page: Any, base: str, username: str, password: str) -> Any:
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as nav:
        page.click("button[type=submit]")
    return nav.value


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_repeated_wrong_passwords_show_a_short_wait_in_chinese(browser, server, size):  # noqa: F811
    page = _page(browser, size, remote=f"203.0.113.{len(size)}")
    for _ in range(KEY_POLICY.free + 1):
        assert _try_login(page, server, "head", "wrong-password").status == 401
    response = _try_login(page, server, "head", "wrong-password")
    assert response.status == 429 and response.headers["retry-after"] == "2"
    text = page.inner_text("main")
    assert "尝试次数过多，请2秒后再试" in text and "rate_limited" not in text
    assert page.input_value("input[name=username]") == "head"  # what was typed is kept
    _shot(page, f"login-wait-{size}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_demo_account_from_another_machine_is_told_why(browser, server, size):  # noqa: F811
    page = _page(browser, size, remote="198.51.100.23")
    response = _try_login(page, server, "clerk", "gkflow-demo")
    assert response.status == 403
    assert "演示账号只能在本机（127.0.0.1）登录" in page.inner_text("main")
    _shot(page, f"login-demo-remote-{size}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_case_that_must_wait_and_a_refused_input(browser, server, sqlite_rt, size):  # noqa: F811
    case = submit_case(sqlite_rt, "gov-info-request", Applicant("张三", "13912345678"),
                       fields={"requested_information": "预算"})
    page = _page(browser, size, remote="192.0.2.77")
    for _ in range(KEY_POLICY.free + 1):
        page.goto(f"{server}/status/{case.case_no}?code=WRONG234")
    response = page.goto(f"{server}/status/{case.case_no}?code={case.query_code}")
    assert response.status == 429 and "请2秒后再试" in page.inner_text("main")
    _shot(page, f"status-wait-{size}")
    response = page.goto(f"{server}/status/{case.case_no}%00?code=X")
    assert response.status == 422
    text = page.inner_text("main")
    assert "控制字符" in text and "Traceback" not in text
    _shot(page, f"refused-input-{size}")
