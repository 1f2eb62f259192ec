"""Applicant pages: landing, status in plain Chinese, masking, one not-found, the rating form."""

from __future__ import annotations

import re

from tests.web.conftest import complete_gov, csrf_of, submit_gov


def status_page(client, case: dict) -> str:
    """The applicant's page as an old link opens it: the code checked once, then moved out of the URL."""
    first = client.get(f"/status/{case['case_no']}", params={"code": case["query_code"]})
    assert first.status_code == 303 and first.headers["location"] == f"/status/{case['case_no']}"
    page = client.get(first.headers["location"])
    assert page.status_code == 200
    return page.text


def test_the_landing_page_leads_to_the_applicant_staff_and_admin_screens(client):
    page = client.get("/").text
    assert 'href="/status"' in page and 'href="/staff"' in page and 'href="/admin"' in page
    assert 'lang="zh-CN"' in page and "政府信息公开申请" in page


def test_the_status_form_posts_the_code_and_the_case_page_opens_without_it(client):
    case = submit_gov(client)
    form = client.get("/status").text
    response = client.post(
        "/status",
        data={
            "csrf_token": csrf_of(form),
            "case_no": f" {case['case_no'].lower()} ",
            "code": case["query_code"],
        },
    )
    assert response.status_code == 303 and response.headers["location"] == f"/status/{case['case_no']}"
    assert "gkflow_case=" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]
    assert case["query_code"] not in response.headers["set-cookie"]
    assert "当前进度：已收件" in client.get(response.headers["location"]).text
    client.cookies.clear()
    assert 'name="code"' in client.get(f"/status/{case['case_no']}").text  # no pass: the form again


def test_the_status_page_explains_the_step_dates_and_masks_personal_data(client, bearer):
    case = submit_gov(client)
    headers = bearer("clerk")
    client.post(
        f"/api/cases/{case['case_no']}/actions/request_correction",
        json={"fields": {"corrections": "请补充身份证复印件", "correction_period": "15日内"}},
        headers=headers,
    )
    page = status_page(client, case)
    assert "当前进度：待补正" in page and "格尔木市人民政府办公室" in page
    assert "办理时限中止" in page  # the clock stop explained
    assert "请您：提交补正材料" in page and "需要补正的全部事项：请补充身份证复印件" in page
    assert "张**" in page and "139****5678" in page
    assert "张三丰" not in page and "13912345678" not in page and "clerk" not in page


def test_the_status_page_explains_an_extension(client, bearer):
    case = submit_gov(client)
    client.post(f"/api/cases/{case['case_no']}/actions/accept", json={}, headers=bearer("clerk"))
    client.post(
        f"/api/cases/{case['case_no']}/actions/extend",
        json={"fields": {"reason": "信息量大"}},
        headers=bearer("head"),
    )
    page = status_page(client, case)
    assert "经批准延长办理期限20个工作日" in page and "已依法延期" in page


def test_a_wrong_number_and_a_wrong_code_show_the_same_page(client):
    case = submit_gov(client)
    wrong_code = client.get(f"/status/{case['case_no']}", params={"code": "AAAAAAAA"})
    wrong_no = client.get("/status/GK20260302-ZZZZZZ", params={"code": case["query_code"]})
    assert wrong_code.status_code == wrong_no.status_code == 404
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong_code.text).replace(case["case_no"], "N") == strip.sub(
        "", wrong_no.text
    ).replace("GK20260302-ZZZZZZ", "N")
    assert "未找到该办件" in wrong_code.text


def test_the_applicant_rates_a_completed_case_through_the_form_once(client, bearer):
    case = submit_gov(client)
    complete_gov(client, case["case_no"], bearer("clerk"))
    page = status_page(client, case)
    assert "服务评价" in page and "非常不满意" in page
    response = client.post(
        f"/status/{case['case_no']}/rating",
        data={"csrf_token": csrf_of(page), "code": case["query_code"], "level": "4", "comment": "不错"},
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "感谢您的评价" in page and "您已评价：<strong>满意</strong>" in page
    assert 'name="level"' not in page


def test_the_rating_form_needs_its_csrf_token_and_a_level(client, bearer):
    case = submit_gov(client)
    complete_gov(client, case["case_no"], bearer("clerk"))
    page = status_page(client, case)
    forged = client.post(f"/status/{case['case_no']}/rating", data={"code": case["query_code"], "level": "5"})
    assert forged.status_code == 403
    missing = client.post(
        f"/status/{case['case_no']}/rating", data={"csrf_token": csrf_of(page), "code": case["query_code"]}
    )
    assert missing.status_code == 422 and "请选择评价等级" in missing.text
