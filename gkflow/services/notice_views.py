"""Notices as the administrator reads them: a filtered list (status, channel, case), one message
rendered as its recipient sees it (text, and an e-mail's HTML for a sandboxed frame), retries."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from gkflow.delivery.outbox import STATUSES, outbox_t
from gkflow.delivery.outbox_admin import retry_all_dead, retry_dead
from gkflow.domain.errors import Conflict, InvalidInput, NotFound
from gkflow.domain.masking import mask_phone
from gkflow.runtime import Runtime
from notifications.errors import RenderError
from notifications.render import render

STATUS_LABELS = {
    "created": "待发送", "sending": "发送中", "delivered": "已送达",
    "temporary-failure": "暂时失败（将重试）", "permanent-failure": "永久失败",
    "technical-failure": "技术故障", "dead": "已放弃（死信）",
}
CHANNEL_LABELS = {"sms": "短信", "email": "电子邮件", "wechat": "微信", "webhook": "12345平台",
                  "sandbox": "沙箱"}
TOPIC_LABELS = {
    "accepted": "收件告知", "correction_requested": "一次性告知补正", "correction_received": "补正材料已收",
    "decided": "办理决定", "certificate_ready": "证照制作完成", "delivered": "送达", "extended": "延期告知",
    "due_date_changed": "期限调整", "rating_invitation": "邀请评价", "warning_yellow": "黄牌预警",
    "warning_red": "红牌预警", "publication_done": "公开完成", "publication_failed": "公开失败",
}
DEAD_STATUSES = ("dead", "permanent-failure", "technical-failure")
PAGE = 50


def _masked(channel: str | None, recipient: str | None) -> str:
    if not recipient:
        return ""
    if channel == "sms":
        return mask_phone(recipient)
    if channel == "email" and "@" in recipient:
        local, _, domain = recipient.partition("@")
        return local[:1] + "***@" + domain
    return recipient if channel in ("webhook", "sandbox") else recipient[:3] + "***"


def _row(r: Any) -> dict[str, Any]:
    return {
        **dict(r), "recipient": _masked(r["channel"], r["recipient"]),
        "status_label": STATUS_LABELS.get(r["status"], r["status"]),
        "channel_label": CHANNEL_LABELS.get(r["channel"] or "", r["channel"] or ""),
        "topic_label": TOPIC_LABELS.get(r["topic"], r["topic"]),
        "dead": r["status"] in DEAD_STATUSES,
    }


def notice_list(
    rt: Runtime, *, status: str | None = None, channel: str | None = None, case_no: str | None = None,
    before: int | None = None, limit: int = PAGE,
) -> dict[str, Any]:
    """Notices newest first, filtered; ``before`` is the id the next page starts below."""
    if status and status not in (*STATUSES, "failed"):
        raise InvalidInput(f"status: one of {', '.join(STATUSES)} or failed", fields=["status"])
    o = outbox_t.c
    query = select(o.id, o.case_no, o.topic, o.channel, o.recipient, o.status, o.attempts, o.last_error,
                   o.created_at, o.updated_at, o.delivered_at).where(o.kind == "notice")
    if status == "failed":
        query = query.where(o.status.in_(DEAD_STATUSES))
    elif status:
        query = query.where(o.status == status)
    if channel:
        query = query.where(o.channel == channel)
    if case_no:
        query = query.where(o.case_no == case_no.strip().upper())
    if before:
        query = query.where(o.id < before)
    with rt.engine.connect() as conn:
        rows = conn.execute(query.order_by(o.id.desc()).limit(limit + 1)).mappings().all()
    items = [_row(r) for r in rows[:limit]]
    return {"rows": items, "next_before": items[-1]["id"] if len(rows) > limit else None}


def notice_detail(rt: Runtime, message_id: int) -> dict[str, Any]:
    """One notice and what its recipient sees: subject and text, and an e-mail's HTML (to be shown
    only in a sandboxed frame); a message that cannot be rendered says why."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(outbox_t).where(outbox_t.c.id == message_id,
                                                  outbox_t.c.kind == "notice")).mappings().first()
    if row is None:
        raise NotFound(f"通知 #{message_id} 不存在")
    rendered: dict[str, Any] = {"subject": None, "text": None, "html": None, "error": None}
    try:
        message = render(row["topic"], row["channel"] or "", json.loads(row["payload"] or "{}"))
        rendered.update(subject=message.subject, text=message.text, html=message.html)
    except RenderError as exc:
        rendered["error"] = str(exc)
    return {**_row(row), "rendered": rendered}


def retry_notice(rt: Runtime, message_id: int) -> None:
    """Send a dead letter again; Conflict if it is not one (already retried or delivered)."""
    if not retry_dead(rt, message_id):
        raise Conflict(f"通知 #{message_id} 不是死信（可能已重试或已送达）")


def retry_all_notices(rt: Runtime) -> int:
    """Send every dead letter again; how many went back to the queue."""
    return retry_all_dead(rt)
