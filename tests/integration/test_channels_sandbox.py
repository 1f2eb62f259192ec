"""The sandbox channel: a local inbox of JSON files, idempotent by key, newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest

from notifications.channels import SandboxChannel, read_inbox
from notifications.channels.sandbox import (
    SIMULATE_PERMANENT_FAILURE,
    SIMULATE_TECHNICAL_FAILURE,
    SIMULATE_TEMPORARY_FAILURE,
)
from notifications.errors import PermanentFailure, TechnicalFailure, TemporaryFailure
from notifications.policy import Status
from notifications.render import render
from notifications.samples import case_context


def ticking_clock():
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    ticks = count()
    return lambda: start + timedelta(seconds=next(ticks))


def test_a_message_is_stored_with_a_masked_recipient(tmp_path: Path):
    channel = SandboxChannel(tmp_path / "inbox")
    message = render("accepted", "sandbox", case_context())

    receipt = channel.send(message, "13912345678", "outbox-1")

    assert receipt.status == Status.DELIVERED
    [record] = read_inbox(tmp_path / "inbox")
    assert record["recipient"] == "139****5678"
    assert record["case_no"] == "GEM-2026-000123"
    assert (record["notice"], record["channel"]) == ("accepted", "sandbox")
    assert record["subject"] == message.subject and record["html"] == message.html
    assert "13912345678" not in (tmp_path / "inbox" / receipt.provider_ref).read_text()  # type: ignore[operator]


def test_sending_again_with_the_same_key_overwrites_the_same_file(tmp_path: Path):
    channel = SandboxChannel(tmp_path, clock=ticking_clock())
    message = render("accepted", "sms", case_context())

    first = channel.send(message, "13912345678", "outbox-1:sms")
    second = channel.send(message, "13912345678", "outbox-1:sms")

    assert first.provider_ref == second.provider_ref
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert not list(tmp_path.glob(".*"))


def test_inbox_is_newest_first_filtered_by_case_and_limited(tmp_path: Path):
    channel = SandboxChannel(tmp_path, clock=ticking_clock())
    for i, notice in enumerate(["accepted", "decided", "delivered"]):
        channel.send(render(notice, "sandbox", case_context(notice)), "a@example.cn", f"k{i}")
    other = case_context("accepted", case_no="GEM-2026-000999")
    channel.send(render("accepted", "sandbox", other), "b@example.cn", "k-other")
    (tmp_path / "notes.json").write_text("not json", encoding="utf-8")

    mine = read_inbox(tmp_path, case_no="GEM-2026-000123")

    assert [r["notice"] for r in mine] == ["delivered", "decided", "accepted"]
    assert [r["case_no"] for r in read_inbox(tmp_path, limit=1)] == ["GEM-2026-000999"]
    assert read_inbox(tmp_path / "missing") == []


def test_the_inbox_takes_messages_rendered_for_any_channel(tmp_path: Path):
    channel = SandboxChannel(tmp_path)
    for name in ("sms", "email", "wechat", "webhook"):
        channel.send(render("accepted", name, case_context()), "x@example.cn", f"k-{name}")

    stored = {r["channel"]: r for r in read_inbox(tmp_path)}

    assert set(stored) == {"sms", "email", "wechat", "webhook"}
    assert stored["wechat"]["fields"]["first"]
    assert json.loads(stored["webhook"]["text"]) == stored["webhook"]["fields"]


@pytest.mark.parametrize(
    ("recipient", "kind"),
    [
        (SIMULATE_TEMPORARY_FAILURE, TemporaryFailure),
        (SIMULATE_PERMANENT_FAILURE, PermanentFailure),
        (SIMULATE_TECHNICAL_FAILURE, TechnicalFailure),
    ],
)
def test_simulated_recipients_fail_as_named_and_store_nothing(tmp_path: Path, recipient: str, kind: type):
    with pytest.raises(kind):
        SandboxChannel(tmp_path).send(render("accepted", "sms", case_context()), recipient, "k")

    assert read_inbox(tmp_path) == []
