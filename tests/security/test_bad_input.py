"""Every bad input is a clear 4xx, on SQLite and PostgreSQL, and nothing personal reaches the log.

Each test reproduces a finding of the hardening probe (issue 11): before the fix it gave a 500 and a
traceback (on PostgreSQL a NUL cannot be stored at all) or an overflow."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from gkflow.domain.bounds import MAX_ID
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.security.conftest import HOTLINE_SECRET, RECEIPT_SECRET
from tests.web.conftest import GOV, login, partner_headers

PHONE = "13912345678"
ID_NUMBER = "630101199001011239"  # a valid GB 11643 check digit


def _submission(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {"item": GOV, "name": "张三丰", "phone": PHONE, "id_number": ID_NUMBER,
                               "fields": {"requested_information": "2025年部门预算"}}
    body.update(changes)
    return body


def _rows(rt, table: str) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _assert_refused(response, status: int = 422) -> dict:
    assert response.status_code == status, response.text[:300]
    return response.json()["error"] if response.headers["content-type"].startswith("application/json") else {}


@pytest.mark.parametrize("changes", [
    {"name": "张三\x00丰"},
    {"phone": "139\x0012345678"},
    {"fields": {"requested_information": "预算\x00"}},
    {"fields": {"requested\x00information": "预算"}},
    {"name": "张三\x1b[31m"},
])
def test_a_control_character_in_an_anonymous_submission_is_422_and_logs_no_personal_data(
    app_client, rt, logged, changes
):
    response = app_client.post("/api/cases", json=_submission(**changes), headers=partner_headers(app_client))
    error = _assert_refused(response)
    assert _rows(rt, "cases") == _rows(rt, "outbox") == 0  # nothing half-written
    assert error["code"] == "invalid_input" and "控制字符" in error["message"]
    text = logged.text
    assert PHONE not in text and ID_NUMBER not in text and "Traceback" not in text


@pytest.mark.parametrize("url", [
    "/status/GK20260302-AAAAAA%00", "/status/GK20260302-AAAAAA?code=AB%00CD",
    "/api/cases/GK%00", "/api/cases/GK20260302-AAAAAA?code=%01", "/api/items/gov%00",
    "/staff/cases/GK%00", "/gk/%00/x.csv",
])
def test_a_control_character_in_a_path_or_query_is_422(app_client, url):
    response = app_client.get(url)
    assert response.status_code == 422, response.text[:300]


def test_a_control_character_in_a_form_is_422_before_the_login_is_tried(app_client):
    page = app_client.get("/staff/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = app_client.post("/staff/login", data={"username": "clerk\x00", "password": "x",
                                                     "csrf_token": csrf})
    assert response.status_code == 422 and "控制字符" in response.text


def test_tabs_and_line_breaks_are_ordinary_text(app_client):
    body = _submission(fields={"requested_information": "第一行\r\n第二行\t（附表）"})
    assert app_client.post("/api/cases", json=body, headers=partner_headers(app_client)).status_code == 201


@pytest.mark.parametrize("rectification_id", ["99999999999999999999", str(2**31), "0", "-1"])
def test_a_path_id_beyond_the_integer_range_is_422(app_client, rectification_id):
    csrf = login(app_client, "clerk")
    response = app_client.post(f"/staff/rectifications/{rectification_id}/close",
                               data={"csrf_token": csrf, "resolution": "已整改"})
    assert response.status_code == 422, response.text[:300]


def test_the_largest_id_is_still_an_ordinary_not_found(app_client):
    csrf = login(app_client, "clerk")
    response = app_client.post(f"/staff/rectifications/{MAX_ID}/close",
                               data={"csrf_token": csrf, "resolution": "已整改"})
    assert response.status_code == 404


def _signed_post(client, url: str, body: bytes, secret: str, now: int,
                 content_type: str = "application/json"):
    return client.post(url, content=body, headers={
        TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(secret, now, body), "Content-Type": content_type})


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00", "9999-12-31T23:59:59+08:00",
                                         "1899-12-31T23:00:00Z"])
def test_a_work_order_received_outside_1900_to_2100_is_422(app_client, rt, received_at):
    order = {"order_id": "12345-X-1", "kind": "enquiry", "name": "赵六", "phone": "13700002222",
             "content": "咨询", "received_at": received_at}
    response = _signed_post(app_client, "/api/intake/12345", json.dumps(order).encode(), HOTLINE_SECRET,
                            int(rt.now().timestamp()))
    error = _assert_refused(response)
    assert "received_at" in error["message"] and "1900" in error["message"]
    assert _rows(rt, "hotline_orders") == _rows(rt, "cases") == 0


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_deeply_nested_json_in_a_signed_receipt_is_422(app_client, rt, content_type):
    body = ('{"receipts": ' + "[" * 20_000 + "]" * 20_000 + "}").encode()  # under the 64 KB cap
    response = _signed_post(app_client, "/api/receipts/sms", body, RECEIPT_SECRET,
                            int(rt.now().timestamp()), content_type)
    assert response.status_code == 422, response.text[:300]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_a_nul_in_a_signed_receipt_is_422_whatever_its_declared_type(app_client, rt, content_type):
    body = json.dumps({"idempotency_key": "k\u0000", "status": "delivered"}).encode()
    response = _signed_post(app_client, "/api/receipts/sms", body, RECEIPT_SECRET,
                            int(rt.now().timestamp()), content_type)
    assert response.status_code == 422, response.text[:300]


def test_moderately_nested_json_beyond_the_depth_bound_is_422(app_client):
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    response = app_client.post("/api/cases", json=_submission(fields=nested),
                               headers=partner_headers(app_client))
    assert response.status_code == 422


def test_a_body_over_a_megabyte_is_413_before_it_is_read(app_client):
    response = app_client.post("/api/cases", json=_submission(name="张" * (1024 * 1024)))
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_a_long_string_under_the_body_limit_is_a_field_error(app_client):
    # JSON bodies are capped at 64 KB (413 too_large); a long name under that is the name's error.
    response = app_client.post("/api/cases", json=_submission(name="张" * 10_000),
                               headers=partner_headers(app_client))
    assert response.status_code == 422 and response.json()["error"]["details"]["fields"] == ["name"]
