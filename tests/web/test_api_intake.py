"""12345 intake: signed work orders open a case of the work-order item; replays and forgeries fail."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gkflow.db.models import OutboxRow
from gkflow.web.app import create_app
from notifications.channels.webhook import sign
from tests.helpers import with_settings

SECRET = "hotline-shared-secret"


@pytest.fixture
def hotline(app_rt) -> TestClient:
    return TestClient(create_app(with_settings(app_rt, hotline_secret=SECRET)))


def _post(client: TestClient, order: dict, *, ts: int, secret: str = SECRET):
    body = json.dumps(order, ensure_ascii=False).encode()
    return client.post(
        "/api/intake/12345",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Gkflow-Timestamp": str(ts),
            "X-Gkflow-Signature": sign(secret, ts, body),
        },
    )


ORDER = {
    "order_id": "12345-20260302-0001",
    "kind": "enquiry",
    "name": "赵六",
    "phone": "13700002222",
    "content": "咨询烟花爆竹零售许可办理流程",
}


def test_a_signed_work_order_opens_a_hotline_case_whose_steps_go_back_by_webhook(hotline, app_rt, clock):
    response = _post(hotline, ORDER, ts=int(clock.now().timestamp()))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["item"] == "hotline-enquiry" and body["duplicate"] is False
    view = hotline.get(f"/api/cases/{body['case_no']}", params={"code": body["query_code"]}).json()
    assert view["item"] == "hotline-enquiry" and view["applicant"]["name"] == "赵*"
    with app_rt.engine.connect() as conn:
        channels = set(
            conn.execute(
                select(OutboxRow.__table__.c.channel).where(OutboxRow.__table__.c.case_no == body["case_no"])
            ).scalars()
        )
    assert "webhook" in channels


def test_the_same_work_order_posted_again_finds_the_same_case(hotline, clock):
    ts = int(clock.now().timestamp())
    first = _post(hotline, ORDER, ts=ts).json()
    again = _post(hotline, ORDER, ts=ts)
    assert again.status_code == 200
    assert again.json() == {"order_id": ORDER["order_id"], "case_no": first["case_no"], "duplicate": True}


def test_a_forged_or_stale_signature_is_refused(hotline, clock):
    ts = int(clock.now().timestamp())
    assert _post(hotline, ORDER, ts=ts, secret="guess").status_code == 401
    assert _post(hotline, ORDER, ts=ts - 301).status_code == 401
    response = hotline.post("/api/intake/12345", json=ORDER)
    assert response.status_code == 401 and response.json()["error"]["code"] == "forbidden"


def test_a_work_order_with_a_bad_field_is_422_naming_it(hotline, clock):
    response = _post(hotline, {**ORDER, "kind": "praise"}, ts=int(clock.now().timestamp()))
    assert response.status_code == 422 and response.json()["error"]["details"]["fields"] == ["kind"]
    response = _post(hotline, {**ORDER, "fields": {"colour": "red"}}, ts=int(clock.now().timestamp()))
    assert response.status_code == 422 and "colour" in response.json()["error"]["message"]


def test_the_intake_is_closed_until_a_secret_is_configured(app_rt, clock):
    assert app_rt.settings.hotline_secret is None
    client = TestClient(create_app(app_rt))
    response = _post(client, ORDER, ts=int(clock.now().timestamp()))
    assert response.status_code == 403 and "GKFLOW_HOTLINE_SECRET" in response.json()["error"]["message"]
