"""Replies to the 12345 platform: each step of a work order goes back as plain JSON (no template)."""

from __future__ import annotations

import json

from gkflow.delivery.outbox import OutboxMessage
from notifications.errors import TechnicalFailure
from notifications.message import RenderedMessage

HOTLINE_REPLY = "hotline.reply"


def hotline_reply_message(message: OutboxMessage) -> RenderedMessage:
    """The 12345 platform's copy of a step (签收, 退单, 答复 …): plain data, no template."""
    payload = message.payload
    try:
        body = {
            "event": HOTLINE_REPLY, "case_no": payload["case_no"], "step": payload["action_label"],
            "state": payload["state_label"], "department": payload["department"],
            "occurred_at": payload["occurred_at"], "comment": payload.get("public_note"),
            "fields": payload.get("fields") or {},
        }
    except KeyError as exc:
        raise TechnicalFailure(f"hotline.reply payload lacks {exc.args[0]!r}") from None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return RenderedMessage(channel="webhook", notice="hotline_reply", text=text, fields=body,
                           case_no=body["case_no"])
