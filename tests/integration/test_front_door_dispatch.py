"""One-time codes through the real dispatcher, on SQLite and PostgreSQL: quiet hours do not hold them
(the person asked just now), the code never stays in the database once sent, and the SMS is one part."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from gkflow.delivery.config import ChannelsConfig
from gkflow.delivery.dispatcher import drain
from gkflow.services.cases import Applicant, submit_case
from gkflow.services.phone_codes import request_code
from notifications.channels.sandbox import read_inbox


def test_a_code_asked_for_at_night_is_sent_at_once_and_then_forgotten(rt, tmp_path: Path):
    rt.clock.set(datetime(2026, 12, 7, 15, 30, tzinfo=UTC))  # 23:30 in Golmud: quiet hours
    submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"),
                fields={"requested_information": "预算"})  # its SMS waits for the morning
    request_code(rt, "13800001111", client="127.0.0.1")
    report = drain(rt, worker="night", channels_config=ChannelsConfig(inbox_dir=tmp_path / "inbox"),
                   now=rt.now())
    assert (report.delivered, report.held) == (1, 1)
    [sms] = [m for m in read_inbox(tmp_path / "inbox") if m["channel"] == "sms"]
    assert sms["recipient"] == "138****1111" and sms["sms_parts"] == 1
    assert "验证码" in sms["text"] and "查询码" not in sms["text"]
    with rt.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT payload, secret, status FROM outbox WHERE topic = 'verification_code'")).all()
        hashes = conn.execute(text("SELECT code_hash FROM phone_verifications")).scalars().all()
    [(payload, secret, status)] = rows
    assert status == "delivered" and secret is None and "code" not in payload
    assert len(hashes[0]) == 64  # only an HMAC of the code is kept
