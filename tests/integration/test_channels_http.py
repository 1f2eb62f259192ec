"""SMS, WeChat and webhook channels against a real local HTTP server (pytest-httpserver)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifications.channels import SmsChannel, WebhookChannel, WechatChannel, verify_signature
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from notifications.errors import PermanentFailure, TechnicalFailure, TemporaryFailure
from notifications.message import RenderedMessage
from notifications.policy import Status
from notifications.render import render
from notifications.samples import case_context
from tests.helpers import free_port, wait_for

PHONE = "13912345678"
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
KEY = "outbox-42-attempt"
SECRET = "webhook-s3cret"


@pytest.fixture(autouse=True)
def _check_server(httpserver: HTTPServer) -> Iterator[None]:
    yield
    httpserver.check_assertions()


@pytest.fixture
def sms_message() -> RenderedMessage:
    return render("accepted", "sms", case_context())


@pytest.fixture
def sms(httpserver: HTTPServer) -> SmsChannel:
    return SmsChannel(httpserver.url_for("/sms"), "api-key-1", "【格尔木市政务服务】", timeout=(1, 2))


def test_sms_is_posted_with_bearer_auth_idempotency_key_and_signature(
    httpserver: HTTPServer, sms: SmsChannel, sms_message: RenderedMessage
):
    httpserver.expect_oneshot_request(
        "/sms",
        method="POST",
        headers={"Authorization": "Bearer api-key-1", "Idempotency-Key": KEY},
        json={
            "to": PHONE,
            "text": sms_message.text,
            "signature": "【格尔木市政务服务】",
            "idempotency_key": KEY,
        },
    ).respond_with_json({"id": "gw-981", "status": "accepted"})

    receipt = sms.send(sms_message, "+86 139 1234 5678", KEY)

    assert receipt.provider_ref == "gw-981"
    assert receipt.status == Status.SENDING


def test_sms_gateway_saying_delivered_is_delivered(
    httpserver: HTTPServer, sms: SmsChannel, sms_message: RenderedMessage
):
    httpserver.expect_oneshot_request("/sms").respond_with_json({"id": "1", "status": "delivered"})

    assert sms.send(sms_message, PHONE, KEY).status == Status.DELIVERED


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_sms_server_errors_and_throttling_are_temporary(
    httpserver: HTTPServer, sms: SmsChannel, sms_message: RenderedMessage, status: int
):
    httpserver.expect_oneshot_request("/sms").respond_with_data(
        "busy", status=status, headers={"Retry-After": "7"}
    )

    with pytest.raises(TemporaryFailure) as caught:
        sms.send(sms_message, PHONE, KEY)

    assert f"HTTP {status}" in caught.value.reason
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_sms_client_errors_are_permanent(
    httpserver: HTTPServer, sms: SmsChannel, sms_message: RenderedMessage, status: int
):
    httpserver.expect_oneshot_request("/sms").respond_with_json(
        {"error": f"number {PHONE} rejected"}, status=status
    )

    with pytest.raises(PermanentFailure) as caught:
        sms.send(sms_message, PHONE, KEY)

    assert PHONE not in caught.value.reason
    assert "139****5678" in caught.value.reason


def test_sms_read_timeout_is_temporary(httpserver: HTTPServer, sms_message: RenderedMessage):
    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response("{}", content_type="application/json")

    httpserver.expect_oneshot_request("/sms").respond_with_handler(slow)
    channel = SmsChannel(httpserver.url_for("/sms"), "k", "", timeout=(1, 0.2))

    with pytest.raises(TemporaryFailure, match="timeout"):
        channel.send(sms_message, PHONE, KEY)
    # The server (shared by the session's tests) logs the request once its slow answer is done:
    # wait for that, so the answer cannot land in the next test's log or hold up its requests.
    wait_for(lambda: httpserver.log, 5, "the server to finish the slow answer")


def test_sms_connection_refused_is_temporary_and_keeps_the_key_out_of_the_reason(
    sms_message: RenderedMessage,
):
    channel = SmsChannel(f"http://127.0.0.1:{free_port()}/sms", "api-key-1", "", timeout=(1, 1))

    with pytest.raises(TemporaryFailure, match="connection failed") as caught:
        channel.send(sms_message, PHONE, KEY)

    assert "api-key-1" not in caught.value.reason


def test_sms_to_an_invalid_number_fails_permanently_without_calling_the_gateway(
    httpserver: HTTPServer, sms: SmsChannel, sms_message: RenderedMessage
):
    with pytest.raises(PermanentFailure, match="invalid recipient"):
        sms.send(sms_message, "0979-8412345", KEY)

    assert httpserver.log == []


def test_a_redirect_is_a_configuration_error_not_a_silent_get(
    httpserver: HTTPServer, sms: SmsChannel, sms_message: RenderedMessage
):
    httpserver.expect_oneshot_request("/sms").respond_with_data(
        "", status=301, headers={"Location": "/elsewhere"}
    )

    with pytest.raises(TechnicalFailure, match="HTTP 301"):
        sms.send(sms_message, PHONE, KEY)


@pytest.fixture
def wechat(httpserver: HTTPServer) -> WechatChannel:
    return WechatChannel(
        httpserver.url_for("/cgi-bin/message/template/send"),
        "ACCESS-TOKEN-1",
        {"accepted": "TPL-ACCEPTED"},
        timeout=(1, 2),
    )


def test_wechat_template_message_is_delivered_to_the_provider(httpserver: HTTPServer, wechat: WechatChannel):
    message = render("accepted", "wechat", case_context())
    assert message.fields is not None
    httpserver.expect_oneshot_request(
        "/cgi-bin/message/template/send",
        method="POST",
        query_string={"access_token": "ACCESS-TOKEN-1"},
        headers={"Idempotency-Key": KEY},
    ).respond_with_json({"errcode": 0, "errmsg": "ok", "msgid": 200228332})

    receipt = wechat.send(message, OPENID, KEY)

    assert (receipt.provider_ref, receipt.status) == ("200228332", Status.SENDING)
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent["touser"] == OPENID
    assert sent["template_id"] == "TPL-ACCEPTED"
    assert sent["url"] == case_context()["status_url"]
    assert sent["data"]["keyword1"] == {"value": case_context()["case_no"]}
    assert "url" not in sent["data"]


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [(43004, PermanentFailure), (-1, TemporaryFailure), (40037, TechnicalFailure)],
)
def test_wechat_errcode_is_a_failure(httpserver: HTTPServer, wechat: WechatChannel, errcode: int, kind: type):
    httpserver.expect_oneshot_request("/cgi-bin/message/template/send").respond_with_json(
        {"errcode": errcode, "errmsg": "refused"}
    )

    with pytest.raises(kind, match=f"errcode {errcode}"):
        wechat.send(render("accepted", "wechat", case_context()), OPENID, KEY)


def test_wechat_failure_reasons_never_carry_the_access_token():
    channel = WechatChannel(
        f"http://127.0.0.1:{free_port()}/send", "ACCESS-TOKEN-1", {"accepted": "T"}, timeout=(1, 1)
    )

    with pytest.raises(TemporaryFailure) as caught:
        channel.send(render("accepted", "wechat", case_context()), OPENID, KEY)

    assert "ACCESS-TOKEN-1" not in caught.value.reason
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_wechat_without_a_template_id_for_the_notice_is_our_bug(
    httpserver: HTTPServer, wechat: WechatChannel
):
    with pytest.raises(TechnicalFailure, match="decided"):
        wechat.send(render("decided", "wechat", case_context("decided")), OPENID, KEY)

    assert httpserver.log == []


def intake_12345(now: float):
    """The receiving side: verify the signature, answer 401 otherwise."""

    def handle(request: Request) -> Response:
        valid = verify_signature(
            SECRET,
            request.headers.get(TIMESTAMP_HEADER),
            request.get_data(),
            request.headers.get(SIGNATURE_HEADER),
            now=now,
        )
        if not valid or not request.headers.get("Idempotency-Key"):
            return Response('{"error": "bad signature"}', status=401)
        return Response('{"id": "WO-2026-0001"}', content_type="application/json")

    return handle


def test_webhook_is_signed_and_verified_by_the_receiver(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/intake", method="POST").respond_with_handler(
        intake_12345(now=time.time())
    )
    channel = WebhookChannel(httpserver.url_for("/intake"), SECRET, timeout=(1, 2))
    message = render("accepted", "webhook", case_context())

    receipt = channel.send(message, "12345-platform", KEY)

    assert (receipt.provider_ref, receipt.status) == ("WO-2026-0001", Status.DELIVERED)
    request = httpserver.log[0][0]
    assert request.headers["Idempotency-Key"] == KEY
    body = json.loads(request.get_data())
    assert body["notice"] == "accepted" and body["idempotency_key"] == KEY
    assert body["data"] == message.fields


def test_the_receiver_rejects_a_tampered_body(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/intake").respond_with_handler(intake_12345(time.time()))
    channel = WebhookChannel(httpserver.url_for("/intake"), SECRET, timeout=(1, 2))
    channel.send(render("accepted", "webhook", case_context()), "12345-platform", KEY)
    request = httpserver.log[0][0]
    tampered = request.get_data().replace(b"GEM-2026-000123", b"GEM-2026-000999")

    assert tampered != request.get_data()
    assert not verify_signature(
        SECRET,
        request.headers[TIMESTAMP_HEADER],
        tampered,
        request.headers[SIGNATURE_HEADER],
        now=time.time(),
    )


def test_the_receiver_rejects_a_stale_timestamp_as_a_replay(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/intake").respond_with_handler(intake_12345(time.time()))
    ten_minutes_ago = time.time() - 600
    channel = WebhookChannel(
        httpserver.url_for("/intake"), SECRET, timeout=(1, 2), clock=lambda: ten_minutes_ago
    )

    with pytest.raises(PermanentFailure, match="HTTP 401"):
        channel.send(render("accepted", "webhook", case_context()), "12345-platform", KEY)


def test_webhook_receiver_down_is_temporary(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/intake").respond_with_data("down", status=503)
    channel = WebhookChannel(httpserver.url_for("/intake"), SECRET, timeout=(1, 2))

    with pytest.raises(TemporaryFailure):
        channel.send(render("accepted", "webhook", case_context()), "12345-platform", KEY)
