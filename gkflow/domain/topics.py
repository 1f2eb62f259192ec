"""Names of the notices and triggers a transition may declare (the outbox topics)."""

from __future__ import annotations

NOTICES = frozenset({
    "accepted",  # 受理
    "correction_requested",  # 一次性告知
    "correction_received",  # 补正材料已收到
    "decided",  # 办理决定
    "certificate_ready",  # 证照制作完成
    "delivered",  # 送达/办结
    "extended",  # 延期
    "due_date_changed",  # 期限随节假日安排调整
    "warning_yellow",  # 黄牌预警 (staff)
    "warning_red",  # 红牌预警 (staff)
    "rating_invitation",  # 好差评邀请
    "publication_done",
    "publication_failed",
})

TRIGGERS = frozenset({
    "construction.milestone",  # a construction project reached a milestone: publish progress
    "licence.granted",  # a licence was granted: open its 行政许可结果公示 row and publish it
    "hotline.reply",  # report a 12345 work order's step back to the hotline platform
})

# How applicants can be told (通知渠道); each has templates in notifications/templates/.
NOTICE_CHANNELS = frozenset({"sms", "email", "wechat", "webhook", "sandbox"})
