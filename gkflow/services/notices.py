"""Notices a step sends: the render context the notifications package documents
(notifications/README.md), who receives them, and the outbox rows that carry them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gkflow.domain.items import ClockEffect, ItemVersion, LimitUnit, Transition
from gkflow.domain.masking import mask_name
from gkflow.settings import Settings

# The webhook recipient of applicant notices on items that notify through the 12345 platform.
HOTLINE_RECIPIENT = "hotline-12345"


def notice_context(
    settings: Settings, item: ItemVersion, case: Mapping[str, Any], *, action_label: str, state: str,
    at: datetime, public_note: str | None, fields: Mapping[str, str],
) -> dict[str, Any]:
    """The render context of one step's notices (masked; never the query code, never the internal
    comment: only the note written for the applicant)."""
    promised_due, statutory_due = case.get("promised_due"), case.get("statutory_due")
    return {
        "case_no": case["case_no"],
        "item_code": item.code,
        "item_name": item.name,
        "department": item.department,
        "action_label": action_label,
        "state_label": item.states[state].label,
        "applicant_name": mask_name(case["applicant_name"]),
        "occurred_at": at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
        "promised_due": promised_due.isoformat() if promised_due else None,
        "statutory_due": statutory_due.isoformat() if statutory_due else None,
        "due_provisional": bool(
            case.get("promised_due_provisional") or case.get("statutory_due_provisional")
        ),
        "public_note": public_note,
        "fields": dict(fields),
        "status_url": f"{settings.public_base_url.rstrip('/')}/status/{case['case_no']}",
        "hotline": settings.hotline,
        # The unit the case's limits count in: 个工作日 (行政许可法第82条) or 天 (calendar days).
        "limit_unit": "个工作日" if item.promised_limit.unit is LimitUnit.WORKING else "天",
    }


def phone_verified(case: Mapping[str, Any]) -> bool:
    """Whether notices may go to the case's phone: verified by a code, or taken by staff (window, CLI,
    12345). Online cases from before phone verification (NULL) are not."""
    verified = case.get("phone_verified")
    if verified is None:
        return case.get("intake_channel") != "online"
    return bool(verified)


def notice_recipients(item: ItemVersion, case: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(channel, recipient) pairs: the item's notice channels the applicant can be reached on."""
    contacts: dict[str, str | None] = {
        "sms": case.get("applicant_phone") if phone_verified(case) else None,
        "email": case.get("applicant_email"),
        "wechat": case.get("applicant_wechat"),
        "webhook": HOTLINE_RECIPIENT,
        "sandbox": "sandbox",
    }
    return [(ch, recipient) for ch in item.notice_channels if (recipient := contacts.get(ch))]


def notice_fields(transition: Transition, values: Mapping[str, str]) -> dict[str, str]:
    """The step's form fields, plus what the notice needs from the step itself (the extension)."""
    fields = dict(values)
    if transition.clock is ClockEffect.EXTEND and transition.extend_days:
        fields["extend_days"] = str(transition.extend_days)
    return fields


def outbox_rows(
    item: ItemVersion, case: Mapping[str, Any], *, case_id: int, seq: int, notices: tuple[str, ...],
    triggers: tuple[str, ...], context: Mapping[str, Any], now: datetime,
) -> list[dict[str, Any]]:
    """One row per notice and reachable channel, and one per trigger; keyed so a re-send is the same."""
    rows: list[dict[str, Any]] = []
    base = {
        "created_at": now, "case_id": case_id, "case_no": case["case_no"], "event_seq": seq,
        "status": "created", "attempts": 0, "next_attempt_at": now, "updated_at": now,
    }
    payload = json.dumps(dict(context), ensure_ascii=False)
    for notice in notices:
        for channel, recipient in notice_recipients(item, case):
            rows.append({
                **base, "kind": "notice", "topic": notice, "channel": channel,
                "recipient": recipient, "payload": payload,
                "idempotency_key": f"{case['case_no']}/{seq}/{notice}/{channel}",
            })
    for trigger in triggers:
        rows.append({
            **base, "kind": "trigger", "topic": trigger, "channel": None, "recipient": None,
            "payload": payload, "idempotency_key": f"{case['case_no']}/{seq}/{trigger}",
        })
    return rows


def direct_rows(
    case: Mapping[str, Any], *, case_id: int, seq: int, notice: str,
    recipients: list[tuple[str, str, dict[str, str] | None]], context: Mapping[str, Any], now: datetime,
) -> list[dict[str, Any]]:
    """Rows of one notice to chosen (channel, recipient, secret) triples; a secret (a new query code)
    is kept apart from the payload and cleared once sent."""
    payload = json.dumps(dict(context), ensure_ascii=False)
    return [{
        "created_at": now, "case_id": case_id, "case_no": case["case_no"], "event_seq": seq,
        "status": "created", "attempts": 0, "next_attempt_at": now, "updated_at": now,
        "kind": "notice", "topic": notice, "channel": channel, "recipient": recipient, "payload": payload,
        "secret": json.dumps(secret) if secret else None,
        "idempotency_key": f"{case['case_no']}/{seq}/{notice}/{channel}",
    } for channel, recipient, secret in recipients]
