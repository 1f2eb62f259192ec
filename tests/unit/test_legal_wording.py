"""Legal wording: 收件 is not 受理, limits count in 个工作日 or 天 as the item does, 0 reads 即办."""

from __future__ import annotations

from gkflow.domain.items import Limit, LimitUnit
from notifications.render import render
from notifications.samples import case_context as sample_context


def test_the_notice_sent_on_receipt_says_received_not_accepted():
    for channel in ("email", "sms", "wechat", "webhook"):
        message = render("accepted", channel, {**sample_context("accepted"), "action_label": "收件"})
        text = " ".join(filter(None, [message.subject, message.text, str(message.fields or "")]))
        assert "已受理" not in text, channel
    assert render("accepted", "email", sample_context("accepted")).subject.startswith("您的申请已收件")


def test_countdowns_and_extensions_use_the_item_s_unit():
    red = {**sample_context("warning_red"), "days_left": -3, "limit_unit": "天"}
    assert "已超期3天" in render("warning_red", "email", red).text
    working = {**sample_context("warning_red"), "days_left": -3}
    assert "已超期3个工作日" in render("warning_red", "email", working).text
    extended = {**sample_context("extended"), "limit_unit": "天"}
    assert "延长20天" in render("extended", "sms", extended).text


def test_a_limit_of_zero_reads_on_the_spot():
    assert Limit(0, LimitUnit.WORKING).describe() == "即办"
    assert Limit(15, LimitUnit.WORKING).describe() == "15个工作日"
    assert Limit(7, LimitUnit.CALENDAR).describe() == "7个自然日"
