"""Channel construction, signatures and masking: the parts of channels that need no network."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifications.channels import (
    Channel,
    EmailChannel,
    SandboxChannel,
    SmsChannel,
    WebhookChannel,
    WechatChannel,
    build_channel,
    verify_signature,
)
from notifications.channels.sandbox import inbox_filename
from notifications.channels.sms import normalize_mobile
from notifications.channels.webhook import sign
from notifications.channels.wechat import classify_errcode
from notifications.errors import PermanentFailure, TechnicalFailure, TemporaryFailure
from notifications.masking import mask_recipient, redact
from notifications.render import render
from notifications.samples import case_context

CONFIGS = {
    "sms": {"gateway_url": "https://sms.example/send", "api_key": "k", "signature": "【政务】"},
    "email": {"host": "smtp.example", "port": "25", "sender": "noreply@zwfw.example.cn"},
    "wechat": {
        "api_url": "https://wx.example/send",
        "app_token": "t",
        "template_ids": {"accepted": "TPL1"},
    },
    "webhook": {"url": "https://12345.example/hook", "secret": "s"},
    "sandbox": {"inbox_dir": "var/inbox"},
}
TYPES = {
    "sms": SmsChannel,
    "email": EmailChannel,
    "wechat": WechatChannel,
    "webhook": WebhookChannel,
    "sandbox": SandboxChannel,
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_build_channel_from_plain_settings(name: str):
    channel = build_channel(name, CONFIGS[name])

    assert isinstance(channel, TYPES[name])
    assert isinstance(channel, Channel)
    assert channel.name == name


def test_build_channel_coerces_environment_strings():
    email = build_channel("email", {**CONFIGS["email"], "starttls": "true", "timeout": "5", "username": ""})
    sms = build_channel("sms", {**CONFIGS["sms"], "timeout": ["1", "4"]})
    sandbox = build_channel("sandbox", {"inbox_dir": Path("/tmp/inbox")})

    assert isinstance(email, EmailChannel)
    assert (email.port, email.starttls, email.timeout, email.username) == (25, True, 5.0, None)
    assert isinstance(sms, SmsChannel) and sms.timeout == (1.0, 4.0)
    assert isinstance(sandbox, SandboxChannel) and sandbox.inbox_dir == Path("/tmp/inbox")


@pytest.mark.parametrize(
    ("name", "config", "problem"),
    [
        ("fax", {}, "unknown channel 'fax'"),
        ("sms", {"gateway_url": "https://x", "signature": "s"}, "'api_key' is required"),
        ("sms", {**CONFIGS["sms"], "api_kye": "typo"}, "unknown setting(s) api_kye"),
        ("email", {**CONFIGS["email"], "port": "twenty-five"}, "'port' must be an integer"),
        ("email", {**CONFIGS["email"], "starttls": "maybe"}, "'starttls' must be true or false"),
        ("wechat", {**CONFIGS["wechat"], "template_ids": {}}, "'template_ids' must be"),
        ("webhook", {"url": "https://x", "secret": ""}, "'secret' is required"),
    ],
)
def test_build_channel_names_what_is_wrong(name: str, config: dict, problem: str):
    with pytest.raises(TechnicalFailure) as caught:
        build_channel(name, config)

    assert problem in caught.value.reason


def test_a_channel_refuses_a_message_rendered_for_another_channel():
    channel = build_channel("sms", CONFIGS["sms"])
    message = render("accepted", "email", case_context())

    with pytest.raises(TechnicalFailure, match="rendered for 'email'"):
        channel.send(message, "13912345678", "outbox-1")


def test_a_channel_refuses_an_unusable_idempotency_key():
    channel = build_channel("sms", CONFIGS["sms"])
    message = render("accepted", "sms", case_context())

    with pytest.raises(TechnicalFailure, match="idempotency key"):
        channel.send(message, "13912345678", "has spaces\r\n")


@pytest.mark.parametrize(
    ("given", "number"),
    [("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678"), ("8613912345678", "13912345678")],
)
def test_mainland_mobile_numbers_are_normalised(given: str, number: str):
    assert normalize_mobile(given) == number


@pytest.mark.parametrize("given", ["", "12345", "0979-8412345", "23912345678", "139123456789"])
def test_anything_else_is_an_invalid_recipient(given: str):
    with pytest.raises(PermanentFailure, match="invalid recipient"):
        normalize_mobile(given)


def test_webhook_signature_verifies_and_rejects_tampering_staleness_and_garbage():
    body = b'{"notice":"accepted"}'
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    ts = int(now.timestamp())
    signature = sign("s3cret", ts, body)

    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature("s3cret", str(ts), body, signature, now)
    assert verify_signature("s3cret", ts, body.decode(), signature, now.timestamp() + 299)
    assert not verify_signature("s3cret", ts, body + b" ", signature, now)
    assert not verify_signature("other", ts, body, signature, now)
    assert not verify_signature("s3cret", ts, body, signature, now.timestamp() + 301)
    assert not verify_signature("s3cret", ts, body, signature, now.timestamp() - 301)
    assert not verify_signature("s3cret", "yesterday", body, signature, now)
    assert not verify_signature("s3cret", None, body, signature, now)
    assert not verify_signature("s3cret", ts, body, None, now)
    assert not verify_signature("s3cret", ts, body, "sha256=签名", now)


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (-1, TemporaryFailure),
        (45009, TemporaryFailure),
        (42001, TemporaryFailure),
        (40037, TechnicalFailure),
        (40003, PermanentFailure),
        (43004, PermanentFailure),
        (99999, PermanentFailure),
    ],
)
def test_wechat_errcodes_are_classified(errcode: int, kind: type):
    assert type(classify_errcode(errcode, "msg")) is kind


def test_recipients_are_masked():
    assert mask_recipient("13912345678") == "139****5678"
    assert mask_recipient("+8613912345678") == "139****5678"
    assert mask_recipient("zhangsan@example.cn") == "z***@example.cn"
    assert mask_recipient("oXyz1234567890abcdef") == "oX***ef"
    assert mask_recipient("abc") == "***"


def test_redact_removes_secrets_and_personal_data_from_reasons():
    text = redact("token=T0KEN phone 13912345678 id 630102199001011234 mail li.si@example.cn", ["T0KEN"])

    assert "T0KEN" not in text and "13912345678" not in text
    assert "630102199001011234" not in text and "li.si@" not in text
    assert "139****5678" in text and "6301**********1234" in text


def test_inbox_file_names_are_safe_and_distinct_for_similar_keys():
    a, b = inbox_filename("outbox:12/sms"), inbox_filename("outbox_12_sms")

    assert a != b
    assert "/" not in a and ":" not in a and a.endswith(".json")
    assert inbox_filename("../../etc/passwd").startswith("etc_passwd-")


def test_channel_sessions_take_proxy_and_ca_settings_from_the_environment_once(monkeypatch):
    from notifications.channels._http import new_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "sms.local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/gov-ca.pem")
    via_proxy = new_session("https://sms.example.cn/send")
    assert via_proxy.trust_env is False
    assert via_proxy.proxies.get("https") == "http://proxy.internal:3128"
    assert via_proxy.verify == "/etc/ssl/gov-ca.pem"
    direct = new_session("https://sms.local/send")
    assert "https" not in direct.proxies
