"""E-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import pytest

from notifications.channels import EmailChannel
from notifications.channels.email import message_id
from notifications.errors import PermanentFailure, TemporaryFailure
from notifications.policy import Status
from notifications.render import render
from notifications.samples import case_context
from tests.helpers import Mailbox, free_port

SENDER = "格尔木市政务服务 <noreply@zwfw.example.cn>"
KEY = "outbox-7-email"


def channel_on(port: int) -> EmailChannel:
    return EmailChannel("127.0.0.1", port, SENDER, timeout=5)


def test_plain_text_and_html_parts_arrive(mailbox: tuple[Mailbox, int]):
    box, port = mailbox
    message = render("correction_requested", "email", case_context("correction_requested"))

    receipt = channel_on(port).send(message, "zhang.san@example.cn", KEY)

    assert receipt.status == Status.DELIVERED
    assert box.envelopes[0].rcpt_tos == ["zhang.san@example.cn"]
    mail = box.messages[0]
    assert mail.get_content_type() == "multipart/alternative"
    assert str(mail["Subject"]) == message.subject
    assert mail["Message-ID"] == receipt.provider_ref == message_id(KEY, SENDER)
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert "GEM-2026-000123" in html.get_content()
    assert "一次性告知" in plain.get_content()


def test_a_resend_with_the_same_key_carries_the_same_message_id(mailbox: tuple[Mailbox, int]):
    box, port = mailbox
    message = render("accepted", "email", case_context())
    channel = channel_on(port)

    first = channel.send(message, "zhang.san@example.cn", KEY)
    second = channel.send(message, "zhang.san@example.cn", KEY)

    assert first.provider_ref == second.provider_ref
    assert box.messages[0]["Message-ID"] == box.messages[1]["Message-ID"]


def test_connection_refused_is_temporary():
    channel = channel_on(free_port())

    with pytest.raises(TemporaryFailure):
        channel.send(render("accepted", "email", case_context()), "zhang.san@example.cn", KEY)


def test_a_550_recipient_rejection_is_permanent(mailbox: tuple[Mailbox, int]):
    box, port = mailbox

    with pytest.raises(PermanentFailure, match="550") as caught:
        channel_on(port).send(render("accepted", "email", case_context()), "nobody@example.cn", KEY)

    assert "nobody@" not in caught.value.reason
    assert box.messages == []


def test_a_450_recipient_deferral_is_temporary(mailbox: tuple[Mailbox, int]):
    _, port = mailbox

    with pytest.raises(TemporaryFailure, match="450"):
        channel_on(port).send(render("accepted", "email", case_context()), "busy@example.cn", KEY)


def test_an_address_that_cannot_be_one_fails_permanently_before_connecting():
    channel = channel_on(free_port())  # nothing listens: reaching the network would be temporary

    with pytest.raises(PermanentFailure, match="invalid recipient"):
        channel.send(render("accepted", "email", case_context()), "zhang.san at example", KEY)
