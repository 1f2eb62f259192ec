"""Delivery receipts: a gateway's signed callback turns an accepted message into delivered or failed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from gkflow.delivery import outbox
from gkflow.delivery.config import ChannelsConfig
from gkflow.delivery.dispatcher import drain
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case
from gkflow.web.app import create_app
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SECRET = "receipt-secret-for-tests"
t = outbox.outbox_t


@pytest.fixture
def client(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GKFLOW_SMS_RECEIPT_SECRET", SECRET)
    with TestClient(create_app(rt)) as c:
        yield c


def post(client: TestClient, rt: Runtime, body: Any, *, secret: str = SECRET, channel: str = "sms",
         age_s: int = 0) -> Any:
    raw = json.dumps(body).encode()
    stamp = int(rt.now().timestamp()) - age_s
    return client.post(f"/api/receipts/{channel}", content=raw, headers={
        TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, raw),
        "Content-Type": "application/json"})


def accepted_sms(rt: Runtime, httpserver: HTTPServer) -> dict[str, Any]:
    """One SMS sent through a real gateway that accepts it and promises a receipt."""
    httpserver.expect_request("/sms").respond_with_json({"id": "gw-77", "status": "accepted"})
    submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"),
                fields={"requested_information": "预算"})
    config = ChannelsConfig(inbox_dir=rt.settings.var_dir / "inbox", sandbox_all=False, quiet_start="00:00",
                            quiet_end="00:00", live={"sms": {"gateway_url": httpserver.url_for("/sms"),
                                                             "api_key": "k"}})
    assert drain(rt, worker="w", channels_config=config).accepted == 1
    return row(rt)


def row(rt: Runtime) -> dict[str, Any]:
    with rt.engine.connect() as conn:
        return dict(conn.execute(select(t)).mappings().one())


def test_the_gateways_signed_receipt_marks_the_accepted_sms_delivered(rt, client, httpserver):
    sent = accepted_sms(rt, httpserver)
    key = json.loads(httpserver.log[0][0].get_data())["idempotency_key"]
    assert (sent["status"], key) == ("sending", sent["idempotency_key"])
    rt.clock.advance(timedelta(minutes=2))

    answer = post(client, rt, {"idempotency_key": key, "status": "delivered"})
    assert answer.status_code == 200, answer.text
    expected = {"message": key, "found": True, "status": "delivered", "changed": True}
    assert answer.json()["results"] == [expected]
    after = row(rt)
    assert after["status"] == "delivered" and after["delivered_at"] == rt.now()
    again = post(client, rt, {"idempotency_key": key, "status": "delivered"})  # gateways repeat themselves
    assert again.json()["results"][0]["changed"] is False and row(rt)["status"] == "delivered"


def test_a_failure_receipt_by_provider_reference_is_final_and_its_reason_masked(rt, client, httpserver):
    accepted_sms(rt, httpserver)
    answer = post(client, rt, {"receipts": [
        {"provider_ref": "gw-77", "status": "failed", "reason": "UNDELIV 13912345678 powered off"}]})
    assert answer.status_code == 200, answer.text
    failed = row(rt)
    assert failed["status"] == "permanent-failure" and "13912345678" not in failed["last_error"]
    assert "UNDELIV" in failed["last_error"]
    # A later "delivered" is still believed: the handset came back after all.
    assert post(client, rt, {"provider_ref": "gw-77", "status": "delivered"}).status_code == 200
    assert row(rt)["status"] == "delivered"


def test_receipts_with_a_wrong_or_stale_signature_change_nothing(rt, client, httpserver):
    sent = accepted_sms(rt, httpserver)
    body = {"idempotency_key": sent["idempotency_key"], "status": "delivered"}
    assert post(client, rt, body, secret="guessed").status_code == 401
    stale = post(client, rt, body, age_s=3600)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "forbidden"
    unsigned = client.post("/api/receipts/sms", json=body)
    assert unsigned.status_code == 401
    assert row(rt)["status"] == "sending"


def test_unknown_channels_and_messages_are_not_found_and_bad_bodies_invalid(rt, client, httpserver):
    accepted_sms(rt, httpserver)
    elsewhere = post(client, rt, {"idempotency_key": "x", "status": "delivered"}, channel="email")
    assert elsewhere.status_code == 404
    missing = post(client, rt, {"idempotency_key": "no-such-key", "status": "delivered"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = post(client, rt, {"idempotency_key": "x", "status": "read"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_input"
    assert row(rt)["status"] == "sending"
