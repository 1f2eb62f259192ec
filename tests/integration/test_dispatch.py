"""The dispatcher against real gateways on 127.0.0.1 (pytest-httpserver for SMS, WeChat and the 12345
platform, aiosmtpd for e-mail) on real SQLite and real PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from werkzeug import Request, Response

from gkflow.delivery import outbox, outbox_admin
from gkflow.delivery.config import ChannelsConfig, RateLimit, load_channels_config
from gkflow.delivery.dispatcher import Dispatcher, drain
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidConfig
from gkflow.runtime import Runtime
from gkflow.services.cases import fire
from notifications.channels.sandbox import read_inbox
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.helpers import HOTLINE, submit

PHONE = "13912345678"
SECRET = "hotline-shared-secret"
t = outbox.outbox_t


def rows(rt: Runtime) -> list[dict[str, Any]]:
    with rt.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]


def live_config(rt: Runtime, httpserver: HTTPServer, **changes: Any) -> ChannelsConfig:
    config = ChannelsConfig(
        inbox_dir=rt.settings.var_dir / "inbox", sandbox_all=False,
        live={
            "sms": {"gateway_url": httpserver.url_for("/sms"), "api_key": "sms-key-123",
                    "signature": "【格尔木市政务服务】", "timeout": [2, 10]},
            "wechat": {"api_url": httpserver.url_for("/wechat"), "app_token": "wx-token",
                       "template_ids": {"accepted": "TPL-ACCEPTED"}},
        },
        webhook_targets={"hotline-12345": {"url": httpserver.url_for("/12345"), "secret": SECRET}},
        quiet_start="00:00", quiet_end="00:00", retry_base_s=30, retry_cap_s=600, retry_horizon_s=3600,
        senders_per_channel=2, rate_wait_seconds=0.05,
    )
    return replace(config, **changes)


def test_notices_reach_sms_email_wechat_and_12345_with_their_keys_and_every_status_is_recorded(
    rt, httpserver: HTTPServer, mailbox,
):
    handler, port = mailbox
    httpserver.expect_request("/sms", method="POST").respond_with_json({"id": "sms-1", "status": "accepted"})
    httpserver.expect_request("/wechat", method="POST").respond_with_json({"errcode": 0, "msgid": 42})
    signed: list[bool] = []

    def platform(request: Request) -> Response:
        signed.append(verify_signature(SECRET, request.headers.get(TIMESTAMP_HEADER), request.get_data(),
                                       request.headers.get(SIGNATURE_HEADER), time.time()))
        return Response(json.dumps({"id": "ticket-9"}), content_type="application/json")

    httpserver.expect_request("/12345", method="POST").respond_with_handler(platform)
    gov = submit(rt, email="zhang@example.cn", wechat="oWX_openid_123").case_no
    hotline = submit(rt, HOTLINE).case_no
    config = live_config(rt, httpserver, live={
        **live_config(rt, httpserver).live,
        "email": {"host": "127.0.0.1", "port": port, "sender": "政务服务 <noreply@zwfw.example.cn>"}})
    with rt.engine.begin() as conn:  # no catalogue item uses WeChat yet: add one row for it
        row = conn.execute(select(t).where(t.c.case_no == gov, t.c.channel == "sms")).mappings().one()
        conn.execute(t.insert().values({**{k: v for k, v in row.items() if k != "id"}, "channel": "wechat",
                                        "recipient": "oWX_openid_123",
                                        "idempotency_key": f"{gov}/1/accepted/wechat"}))

    report = drain(rt, worker="w1", channels_config=config)

    assert report.claimed == 5 and report.delivered == 2 and report.accepted == 3, report.to_dict()
    by_channel = {(r["case_no"], r["channel"]): r for r in rows(rt)}
    assert {k: (r["status"], r["lease_until"]) for k, r in by_channel.items()} == {
        (gov, "sms"): ("sending", None), (gov, "email"): ("delivered", None),
        (gov, "wechat"): ("sending", None), (hotline, "sms"): ("sending", None),
        (hotline, "webhook"): ("delivered", None),
    }
    assert by_channel[(gov, "sms")]["provider_ref"] == "sms-1"
    assert by_channel[(hotline, "webhook")]["provider_ref"] == "ticket-9"
    sms = [json.loads(req.get_data()) for req, _ in httpserver.log if req.path == "/sms"]
    assert {(m["to"], m["idempotency_key"]) for m in sms} == {
        (PHONE, f"{gov}/1/accepted/sms"), (PHONE, f"{hotline}/1/accepted/sms")}
    assert all(req.headers["Authorization"] == "Bearer sms-key-123" for req, _ in httpserver.log
               if req.path == "/sms")
    assert signed == [True]
    [mail] = handler.messages
    assert mail["To"] == "zhang@example.cn" and "已由" in mail.get_body(("plain",)).get_content()
    wechat = [req for req, _ in httpserver.log if req.path == "/wechat"][0]
    assert json.loads(wechat.get_data())["template_id"] == "TPL-ACCEPTED"
    # Accepted SMS wait for their receipt: never claimed again, however long it takes.
    rt.clock.advance(timedelta(days=3))
    assert Dispatcher(rt, config).due() == 0
    assert drain(rt, worker="w2", channels_config=config).claimed == 0


def test_5xx_and_timeouts_are_retried_with_backoff_under_the_same_key_then_delivered(rt, httpserver):
    calls: list[str] = []
    slow_answer_done = threading.Event()

    def flaky(request: Request) -> Response:
        calls.append(request.headers["Idempotency-Key"])
        if len(calls) == 1:
            return Response("upstream busy", status=503)
        if len(calls) == 2:
            time.sleep(0.8)  # longer than the 0.4 s read timeout
            slow_answer_done.set()
        return Response(json.dumps({"id": "ok", "status": "delivered"}), content_type="application/json")

    httpserver.expect_request("/sms").respond_with_handler(flaky)
    case_no = submit(rt, email=None).case_no
    config = live_config(rt, httpserver)
    config = replace(config, live={**config.live, "sms": {**config.live["sms"], "timeout": [1, 0.4]}})
    start = rt.now()

    first = drain(rt, worker="w", channels_config=config)
    [row] = rows(rt)
    assert first.retrying == 1 and row["status"] == "temporary-failure" and row["attempts"] == 1
    assert "HTTP 503" in row["last_error"]
    assert start <= row["next_attempt_at"] <= start + timedelta(seconds=30)
    assert row["lease_until"] is None
    assert drain(rt, worker="w", channels_config=config).claimed == 0  # not due before its time

    rt.clock.set(row["next_attempt_at"])
    drain(rt, worker="w", channels_config=config)
    [row] = rows(rt)
    assert row["status"] == "temporary-failure" and row["attempts"] == 2 and "timeout" in row["last_error"]
    assert row["next_attempt_at"] <= rt.now() + timedelta(seconds=60)  # the second wait may be twice as long

    # The test server answers one request at a time: let it finish the slow answer first, or the
    # third attempt would wait behind it and time out too.
    assert slow_answer_done.wait(5)
    rt.clock.set(row["next_attempt_at"])
    drain(rt, worker="w", channels_config=config)
    [row] = rows(rt)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 3, None)
    assert calls == [f"{case_no}/1/accepted/sms"] * 3


def test_a_4xx_answer_is_a_permanent_failure_and_is_not_retried(rt, httpserver):
    httpserver.expect_request("/sms").respond_with_data("invalid number", status=400)
    submit(rt)
    report = drain(rt, worker="w", channels_config=live_config(rt, httpserver))
    [row] = rows(rt)
    assert report.failed == 1 and row["status"] == "permanent-failure" and "HTTP 400" in row["last_error"]
    rt.clock.advance(timedelta(days=1))
    assert drain(rt, worker="w", channels_config=live_config(rt, httpserver)).claimed == 0
    assert len(httpserver.log) == 1


def test_temporary_failures_past_the_horizon_are_dead_lettered_with_the_last_error(rt, httpserver):
    httpserver.expect_request("/sms").respond_with_data("maintenance", status=502)
    submit(rt)
    config = live_config(rt, httpserver, retry_horizon_s=120)
    for _ in range(10):
        drain(rt, worker="w", channels_config=config)
        [row] = rows(rt)
        if row["status"] != "temporary-failure":
            break
        rt.clock.set(row["next_attempt_at"])
    assert row["status"] == "dead" and "HTTP 502" in row["last_error"]
    assert "gave up after" in row["last_error"]
    assert row["attempts"] == len(httpserver.log) >= 2
    assert (rt.now() - row["created_at"]).total_seconds() <= 120
    # An administrator retries it two days later: it gets a fresh horizon, not a single attempt.
    rt.clock.advance(timedelta(days=2))
    assert outbox_admin.retry_dead(rt, row["id"])
    drain(rt, worker="w", channels_config=config)
    [row] = rows(rt)
    assert row["status"] == "temporary-failure" and row["attempts"] == 1


def test_applicant_sms_is_held_during_quiet_hours_and_goes_out_when_they_end(rt, httpserver, mailbox):
    _handler, port = mailbox
    httpserver.expect_request("/sms").respond_with_json({"id": "x"})
    rt.clock.set(datetime.fromisoformat("2026-03-02T23:10:00+08:00"))
    submit(rt, email="zhang@example.cn")
    config = live_config(rt, httpserver, quiet_start="22:00", quiet_end="08:00", live={
        **live_config(rt, httpserver).live,
        "email": {"host": "127.0.0.1", "port": port, "sender": "noreply@zwfw.example.cn"}})

    report = drain(rt, worker="w", channels_config=config)
    held = {r["channel"]: r for r in rows(rt)}
    assert report.held == 1 and report.delivered == 1
    assert held["email"]["status"] == "delivered"
    assert (held["sms"]["status"], held["sms"]["attempts"]) == ("created", 0)
    assert held["sms"]["next_attempt_at"] == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert httpserver.log == []

    rt.clock.set(datetime.fromisoformat("2026-03-03T08:00:00+08:00"))
    assert drain(rt, worker="w", channels_config=config).accepted == 1
    assert len(httpserver.log) == 1


def test_a_rate_limited_channel_sends_its_burst_and_gives_the_rest_back_unattempted(rt, httpserver):
    httpserver.expect_request("/sms").respond_with_json({"id": "x"})
    for _ in range(5):
        submit(rt)
    config = live_config(rt, httpserver, senders_per_channel=1)
    config = replace(config, rates={"sms": RateLimit(0.01, 2)})
    report = Dispatcher(rt, config).run_batch(worker="w")
    statuses = [(r["status"], r["attempts"]) for r in rows(rt)]
    assert report.accepted == 2 and report.held == 3
    assert sorted(statuses) == [("created", 0)] * 3 + [("sending", 1)] * 2
    assert len(httpserver.log) == 2


def test_a_notice_that_cannot_be_rendered_is_a_technical_failure_naming_the_missing_value(rt, httpserver):
    submit(rt)
    with rt.engine.begin() as conn:
        conn.execute(update(t).values(payload=json.dumps({"case_no": "GK-X"})))
    drain(rt, worker="w", channels_config=live_config(rt, httpserver))
    [row] = rows(rt)
    assert row["status"] == "technical-failure" and "missing value" in row["last_error"]
    assert httpserver.log == []


def test_an_unconfigured_channel_is_a_technical_failure_naming_the_missing_setting(rt, httpserver):
    submit(rt, email="zhang@example.cn")
    drain(rt, worker="w", channels_config=live_config(rt, httpserver))
    email = next(r for r in rows(rt) if r["channel"] == "email")
    assert email["status"] == "technical-failure" and "'email' is not configured" in email["last_error"]


def test_hotline_reply_triggers_post_the_step_to_the_12345_platform_signed(rt, httpserver):
    bodies: list[dict[str, Any]] = []

    def platform(request: Request) -> Response:
        assert verify_signature(SECRET, request.headers[TIMESTAMP_HEADER], request.get_data(),
                                request.headers[SIGNATURE_HEADER], time.time())
        bodies.append(json.loads(request.get_data()))
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/12345").respond_with_handler(platform)
    httpserver.expect_request("/sms").respond_with_json({"id": "x"})
    case_no = submit(rt, HOTLINE).case_no
    fire(rt, case_no, "dispatch", Actor("d", "dispatcher"), fields={"assignee": "市住建局"})
    fire(rt, case_no, "sign", Actor("h", "handler"))
    report = drain(rt, worker="w", channels_config=live_config(rt, httpserver))
    trigger = next(r for r in rows(rt) if r["kind"] == "trigger")
    assert trigger["status"] == "delivered" and report.failed == 0
    reply = next(b for b in bodies if b["notice"] == "hotline_reply")
    assert reply["idempotency_key"] == f"{case_no}/3/hotline.reply"
    assert reply["data"]["step"] == "承办单位签收" and reply["data"]["case_no"] == case_no


def test_sandbox_all_delivers_every_channel_to_the_local_inbox_as_rendered_for_it(rt, tmp_path: Path):
    case_no = submit(rt, email="zhang@example.cn").case_no
    failing = submit(rt, phone="13700001234").case_no
    with rt.engine.begin() as conn:  # the sandbox's test recipient (not a phone number a case accepts)
        conn.execute(outbox.outbox_t.update().where(outbox.outbox_t.c.case_no == failing)
                     .values(recipient="simulate-temporary-failure"))
    config = ChannelsConfig(inbox_dir=tmp_path / "inbox", quiet_start="00:00", quiet_end="00:00")
    report = drain(rt, worker="w", channels_config=config)
    assert report.delivered == 2 and report.retrying == 1 and report.by_route == {"sandbox": 3}
    inbox = {m["channel"]: m for m in read_inbox(tmp_path / "inbox", case_no=case_no)}
    assert set(inbox) == {"sms", "email"} and inbox["sms"]["recipient"] == "139****5678"
    assert case_no in inbox["sms"]["text"] and inbox["email"]["html"]


def test_a_worker_whose_lease_was_taken_over_records_nothing(rt):
    submit(rt, email=None)
    [first] = outbox.claim(rt, worker="slow", lease_seconds=10)
    rt.clock.advance(timedelta(seconds=11))
    [again] = outbox.claim(rt, worker="fast", lease_seconds=10)
    assert again.id == first.id and again.attempts == 2
    assert not outbox.mark_delivered(rt, first.id, "slow", provider_ref="late")
    assert outbox.mark_delivered(rt, again.id, "fast", provider_ref="p", status="sending")
    # Awaiting its receipt: not claimable, and no worker may record over it any more.
    rt.clock.advance(timedelta(days=30))
    assert outbox.claim(rt, worker="any") == [] and outbox.due_count(rt) == 0
    assert not outbox.mark_failed(rt, again.id, "fast", status="permanent-failure", error="x")
    [row] = rows(rt)
    assert (row["status"], row["provider_ref"], row["lease_until"]) == ("sending", "p", None)


def test_outcomes_of_a_batch_are_recorded_together_and_a_release_is_not_an_attempt(rt):
    for _ in range(3):
        submit(rt, email=None)
    claimed = outbox.claim(rt, worker="w", limit=10)
    now = rt.now()
    stuck = outbox.record_outcomes(rt, "w", [
        outbox.delivered_outcome(claimed[0].id, provider_ref="a", now=now),
        outbox.failed_outcome(claimed[1].id, status="temporary-failure", error="503",
                              retry_at=now + timedelta(minutes=1)),
        outbox.held_outcome(claimed[2].id, until=now + timedelta(hours=1)),
    ])
    assert stuck == 3
    got = [(r["status"], r["attempts"], r["lease_until"]) for r in rows(rt)]
    assert got == [("delivered", 1, None), ("temporary-failure", 1, None), ("created", 0, None)]
    assert outbox.record_outcomes(rt, "someone-else", [
        outbox.delivered_outcome(claimed[1].id, provider_ref="b", now=now)]) == 0


def test_two_dispatchers_draining_one_outbox_concurrently_send_nothing_twice(rt, httpserver):
    keys: list[str] = []
    lock = threading.Lock()

    def gateway(request: Request) -> Response:
        with lock:
            keys.append(request.headers["Idempotency-Key"])
        return Response('{"id": "x"}', content_type="application/json")

    httpserver.expect_request("/sms").respond_with_handler(gateway)
    for _ in range(120):
        submit(rt, email=None)
    config = live_config(rt, httpserver, batch_size=10)
    reports = []
    start = threading.Barrier(2)

    def run(name: str) -> None:
        start.wait()
        reports.append(Dispatcher(rt, config).drain(worker=name, max_batches=1000))

    threads = [threading.Thread(target=run, args=(f"d{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(keys) == len(set(keys)) == 120
    assert all(r["status"] == "sending" for r in rows(rt))
    assert sum(r.claimed for r in reports) == 120 and all(r.claimed > 0 for r in reports)


def test_channel_settings_come_from_the_file_with_secrets_from_the_environment(rt, tmp_path):
    config = load_channels_config(rt.settings, environ={
        "GKFLOW_SMS_API_KEY": "from-env", "GKFLOW_SMS_GATEWAY_URL": "https://sms.example.cn/send",
        "GKFLOW_WEBHOOK_HOTLINE_12345_SECRET": "s3cret", "GKFLOW_CHANNELS_SANDBOX_ALL": "false",
        "GKFLOW_SMS_RECEIPT_SECRET": "r"})
    assert config.sandbox_all is False and config.live["sms"]["api_key"] == "from-env"
    assert config.webhook_targets["hotline-12345"]["secret"] == "s3cret"
    assert config.receipt_secrets == {"sms": "r"} and config.quiet_channels == {"sms"}
    quiet = (config.quiet_start, config.quiet_end, config.quiet_timezone)
    assert quiet == ("22:00", "08:00", "Asia/Shanghai")
    assert config.inbox_dir == rt.settings.var_dir / "inbox"
    default = load_channels_config(rt.settings, environ={})
    assert default.sandbox_all is True and "api_key" not in default.live["sms"]
    bad = tmp_path / "channels.yaml"
    bad.write_text("channels:\n  sms:\n    gateway: x\n", encoding="utf-8")
    with pytest.raises(InvalidConfig, match="channels.sms: unknown setting"):
        load_channels_config(rt.settings, environ={"GKFLOW_CHANNELS_FILE": str(bad)})
