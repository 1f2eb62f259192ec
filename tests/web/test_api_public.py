"""The public API: online submission, masked look-up, one answer for a wrong number or code, rate limit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gkflow.services.lookup_limits import KEY_POLICY
from gkflow.web.app import create_app
from tests.web.conftest import GOV, partner_headers, submit_gov


def test_online_submission_answers_the_case_number_and_query_code(client):
    case = submit_gov(client)
    assert case["case_no"].startswith("GK20260302-") and len(case["query_code"]) == 8
    assert case["state"] == "received" and case["promised_due"] == "2026-03-23"
    looked_up = client.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]}).json()
    assert looked_up["case_no"] == case["case_no"] and "query_code" not in looked_up


def test_submission_validates_the_item_s_required_fields_and_names_them(client):
    headers = partner_headers(client)
    response = client.post("/api/cases", json={"item": GOV, "name": "李四"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"] == ["requested_information"]
    response = client.post(
        "/api/cases",
        json={"item": GOV, "name": "李四", "fields": {"requested_information": "x", "colour": "red"}},
        headers=headers,
    )
    assert response.status_code == 422 and "colour" in response.json()["error"]["message"]
    response = client.post("/api/cases", json={"item": GOV, "name": ""}, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["details"]["fields"] == ["name"]


def test_submission_of_an_unknown_item_is_404_in_the_error_shape(client):
    response = client.post("/api/cases", json={"item": "no-such-item", "name": "李四"},
                           headers=partner_headers(client))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "unknown item 'no-such-item'"}}


def test_the_public_view_masks_personal_data_and_staff_names(client, bearer):
    case = submit_gov(client)
    client.post(f"/api/cases/{case['case_no']}/actions/accept", json={}, headers=bearer("clerk"))
    response = client.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]})
    body = response.text
    assert "张三丰" not in body and "13912345678" not in body and "630101199001011239" not in body
    assert response.json()["applicant"] == {
        "name": "张**",
        "phone": "139****5678",
        "id_number": "6301**********1239",
    }
    assert '"clerk"' not in body
    assert [t["actor"] for t in response.json()["timeline"]] == ["申请人", "工作人员"]


def test_a_wrong_number_and_a_wrong_code_answer_exactly_the_same(client):
    case = submit_gov(client)
    wrong_code = client.get(f"/api/cases/{case['case_no']}", params={"code": "AAAAAAAA"})
    wrong_number = client.get("/api/cases/GK20260302-ZZZZZZ", params={"code": case["query_code"]})
    no_code = client.get(f"/api/cases/{case['case_no']}")
    assert wrong_code.status_code == wrong_number.status_code == no_code.status_code == 404
    assert wrong_code.json() == wrong_number.json() == no_code.json()


def test_repeated_failures_on_a_case_make_it_wait_and_other_cases_do_not(app_rt):
    # The full behaviour (per case and per client, growing waits, proxies): tests/security/test_limits.py
    app = create_app(app_rt)
    prober = TestClient(app, client=("203.0.113.9", 40000))
    other = TestClient(app, client=("198.51.100.7", 40000))
    case, own = submit_gov(other), submit_gov(other)
    for _ in range(KEY_POLICY.free + 1):
        assert prober.get(f"/api/cases/{case['case_no']}", params={"code": "WRONG123"}).status_code == 404
    limited = prober.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["retry-after"] == "2"
    page = prober.get(f"/status/{case['case_no']}", params={"code": case["query_code"]})
    assert page.status_code == 429 and page.headers["retry-after"] == "2"
    assert prober.get(f"/api/cases/{own['case_no']}", params={"code": own["query_code"]}).status_code == 200


def test_the_wait_ends(app_rt, clock):
    from datetime import timedelta

    prober = TestClient(create_app(app_rt), client=("203.0.113.9", 40000))
    case = submit_gov(prober)
    for _ in range(KEY_POLICY.free + 1):
        prober.get(f"/api/cases/{case['case_no']}", params={"code": "WRONG123"})
    assert prober.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]}).status_code == 429
    clock.advance(timedelta(seconds=2))
    assert prober.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]}).status_code == 200


def test_unknown_endpoints_and_methods_answer_in_the_error_shape(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = client.delete("/api/items")
    assert response.status_code == 405 and response.json()["error"]["code"] == "invalid_input"


def test_items_are_listed_and_described(client):
    items = client.get("/api/items").json()
    assert {"code": GOV, "name": "政府信息公开申请（依申请公开）", "version": 2} in items
    detail = client.get(f"/api/items/{GOV}").json()
    assert detail["statutory_limit"] == {"days": 20, "unit": "working"}
    assert client.get("/api/items/nope").status_code == 404
