"""Staff pages over HTTP: login, CSRF, worklist colours, case actions, conflicts, registration receipt."""

from __future__ import annotations

import re
from datetime import timedelta

from gkflow.web.deps import SESSION_COOKIE
from tests.web.conftest import GOV, csrf_of, login, submit_gov


def test_pages_need_a_login_and_redirect_back_to_it(client):
    response = client.get("/staff?item=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=%2Fstaff%3Fitem%3Dx"


def test_login_sets_an_http_only_same_site_cookie_and_logout_ends_the_session(client):
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={
            "username": "clerk",
            "password": "gkflow-demo",
            "csrf_token": csrf_of(page.text),
            "next": "/staff",
        },
    )
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = client.cookies.get(SESSION_COOKIE)
    csrf = csrf_of(client.get("/staff").text)
    assert client.post("/staff/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/staff").status_code == 303
    # The session is ended on the server, not only forgotten by this browser: replaying it fails.
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/staff").status_code == 303


def test_a_wrong_password_is_refused_and_repeated_failures_are_rate_limited(client):
    for _ in range(6):  # five free failures; the sixth makes the account wait (tests/security/test_limits.py)
        page = client.get("/staff/login")
        response = client.post(
            "/staff/login", data={"username": "clerk", "password": "guess", "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == 401 and "用户名或密码错误" in response.text
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": "clerk", "password": "gkflow-demo", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 429


def test_every_form_without_its_csrf_token_is_refused(client):
    client.get("/staff/login")
    response = client.post("/staff/login", data={"username": "clerk", "password": "gkflow-demo"})
    assert response.status_code == 403 and "CSRF" in response.text
    case = submit_gov(client)
    login(client, "clerk")
    response = client.post(
        f"/staff/cases/{case['case_no']}/actions/accept",
        data={"expected_version": "1", "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert client.post("/staff/register", data={"item": GOV, "name": "x"}).status_code == 403
    assert client.post("/staff/logout", data={}).status_code == 403
    assert client.get(f"/api/staff/cases/{case['case_no']}").status_code == 401  # cookies don't open the API


def test_the_worklist_shows_the_department_s_cases_with_deadline_colours(client, clock, bearer):
    fresh = submit_gov(client)
    client.post(f"/api/cases/{fresh['case_no']}/actions/accept", json={}, headers=bearer("clerk"))
    clock.advance(timedelta(days=16))  # 2026-03-18: 12 of 15 working days used on the first case
    newer = submit_gov(client)
    login(client, "clerk")
    page = client.get("/staff").text
    row = re.search(rf'<tr class="(\w*)" data-case="{fresh["case_no"]}">', page)
    assert row and row.group(1) == "yellow" and "黄牌" in page
    assert re.search(rf'<tr class="" data-case="{newer["case_no"]}">', page)
    clock.advance(timedelta(days=7))  # 2026-03-25: past the promised 2026-03-23
    assert client.get("/staff").status_code == 303  # the 8-hour session has expired meanwhile
    login(client, "clerk")
    page = client.get("/staff?tab=overdue").text
    assert re.search(rf'<tr class="red" data-case="{fresh["case_no"]}">', page)
    assert "超期 2个工作日" in page and newer["case_no"] not in page
    assert client.get("/staff?state=decided").text.count("data-case=") == 0


def test_other_departments_do_not_see_the_case(client):
    case = submit_gov(client)
    login(client, "safety")
    assert case["case_no"] not in client.get("/staff").text
    assert client.get(f"/staff/cases/{case['case_no']}").status_code == 403


def test_the_case_page_offers_one_form_per_allowed_action_and_fires_it(client):
    case = submit_gov(client)
    csrf = login(client, "clerk")
    page = client.get(f"/staff/cases/{case['case_no']}").text
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"accept", "request_correction"}
    assert "政府信息公开申请表" in page  # the materials checklist
    response = client.post(
        f"/staff/cases/{case['case_no']}/actions/accept", data={"csrf_token": csrf, "expected_version": "1"}
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "已办理：受理" in page and "审查办理中" in page


def test_a_conflict_is_shown_plainly_when_someone_else_acted_first(client):
    case = submit_gov(client)
    csrf = login(client, "clerk")
    client.post(
        f"/staff/cases/{case['case_no']}/actions/accept", data={"csrf_token": csrf, "expected_version": "1"}
    )
    response = client.post(
        f"/staff/cases/{case['case_no']}/actions/request_correction",
        data={
            "csrf_token": csrf,
            "expected_version": "1",
            "f_corrections": "补身份证",
            "f_correction_period": "5日",
        },
    )
    assert response.status_code == 409
    assert "此件已先行办理" in response.text and "审查办理中" in response.text
    assert "someone else" not in response.text  # no English tail


def test_a_missing_field_is_named_and_the_typed_values_are_kept(client):
    case = submit_gov(client)
    csrf = login(client, "clerk")
    response = client.post(
        f"/staff/cases/{case['case_no']}/actions/request_correction",
        data={"csrf_token": csrf, "expected_version": "1", "f_corrections": "补身份证"},
    )
    assert response.status_code == 422
    assert "correction_period" in response.text and ">补身份证</textarea>" in response.text  # kept


def test_window_registration_prints_a_receipt_with_the_query_code_and_a_qr_code(client):
    csrf = login(client, "clerk")
    form = client.get(f"/staff/register?item={GOV}").text
    assert 'name="f_requested_information"' in form
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    response = client.post(
        "/staff/register",
        data={
            "csrf_token": csrf,
            "form_token": token,
            "item": GOV,
            "name": "王小明",
            "phone": "13800001111",
            "f_requested_information": "2025年决算",
            "material_0": "1",
        },
    )
    assert response.status_code == 303 and "code" not in response.headers["location"]
    page = client.get(response.headers["location"]).text
    case_no = re.search(r'id="case-no">([^<]+)<', page).group(1)
    code = re.search(r'id="query-code">([^<]+)<', page).group(1)
    assert "政府信息公开申请登记回执" in page and "受理回执" not in page
    assert "<svg" in page and "王**" in page and "政府信息公开申请表" in page
    assert client.get(f"/api/cases/{case_no}", params={"code": code}).json()["state"] == "received"


def test_registration_errors_name_the_missing_field(client):
    csrf = login(client, "clerk")
    response = client.post("/staff/register", data={"csrf_token": csrf, "item": GOV, "name": "王小明",
                                                    "form_token": "t" * 32})
    assert response.status_code == 422 and "requested_information" in response.text
    assert 'name="form_token" value="' + "t" * 32 + '"' in response.text  # the same form, once more


def test_only_window_staff_register_cases(client):
    login(client, "admin")
    assert client.get("/staff/register").status_code == 403


def test_form_and_write_handlers_run_in_the_thread_pool_not_on_the_event_loop(app_rt):
    """Argon2 and database writes in an `async def` handler stall every other request (measured:
    /healthz 3.7 ms → 1.4 s during 8 failed logins). Only the deliberate read-only look-ups are async."""
    import inspect

    from fastapi.routing import APIRoute

    from gkflow.web.app import create_app

    allowed_async = {"lookup", "status_page"}
    offenders = [
        f"{sorted(route.methods)} {route.path}"
        for route in create_app(app_rt).routes
        if isinstance(route, APIRoute) and inspect.iscoroutinefunction(route.endpoint)
        and route.endpoint.__name__ not in allowed_async
        and route.endpoint.__name__ != "receive"  # hands its write to the thread pool explicitly
    ]
    assert offenders == []
