"""The two values that cross the boundary between rendering, channels and the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from notifications.policy import Status


@dataclass(frozen=True, kw_only=True, slots=True)
class RenderedMessage:
    """A notice rendered for one channel; what a Channel sends.

    ``fields`` holds the WeChat field mapping (str -> str) or the webhook JSON body;
    ``sms_parts`` counts the SMS signature too. ``case_no`` comes from the context
    (None for publication notices) so that inboxes and logs can be filtered by case.
    """

    channel: str
    notice: str
    subject: str | None = None
    text: str
    html: str | None = None
    fields: dict[str, Any] | None = None
    sms_parts: int | None = None
    case_no: str | None = None


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """``delivered``: the recipient's side has it (SMTP relay, webhook receiver, sandbox).
    ``sending``: the provider accepted it and delivers asynchronously (SMS, WeChat); a status
    callback may confirm it later. Neither is retried."""

    provider_ref: str | None
    status: Literal[Status.DELIVERED, Status.SENDING]
