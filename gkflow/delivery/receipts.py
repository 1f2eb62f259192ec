"""Delivery receipts: what a gateway reports of a message it accepted, recorded idempotently."""

from __future__ import annotations

import json
from typing import Any

from gkflow.delivery import outbox
from gkflow.domain.errors import InvalidInput
from gkflow.runtime import Runtime
from notifications.masking import redact

RECEIPT_STATUS = {"delivered": outbox.DELIVERED, "failed": outbox.PERMANENT_FAILURE,
                  "undelivered": outbox.PERMANENT_FAILURE, "permanent-failure": outbox.PERMANENT_FAILURE}
MAX_RECEIPTS = 500


def parse_receipts(body: bytes) -> list[dict[str, Any]]:
    """The receipts of a request body: one object or {"receipts": [...]}, each checked."""
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    except RecursionError:
        raise InvalidInput("the body nests too deeply") from None
    items = data.get("receipts") if isinstance(data, dict) and "receipts" in data else data
    items = items if isinstance(items, list) else [items]
    if not items or len(items) > MAX_RECEIPTS:
        raise InvalidInput(f"send 1 to {MAX_RECEIPTS} receipts", fields=["receipts"])
    for item in items:
        if not isinstance(item, dict):
            raise InvalidInput("each receipt is a JSON object", fields=["receipts"])
        if item.get("status") not in RECEIPT_STATUS:
            raise InvalidInput(f"status must be one of {', '.join(RECEIPT_STATUS)}", fields=["status"])
        if not item.get("idempotency_key") and not item.get("provider_ref"):
            raise InvalidInput("a receipt names idempotency_key or provider_ref",
                               fields=["idempotency_key", "provider_ref"])
    return items


def record_receipts(rt: Runtime, channel: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record each receipt; says per receipt whether its message was found and what changed."""
    results = []
    for item in items:
        reason = item.get("reason")
        found = outbox.record_receipt(
            rt, channel=channel, status=RECEIPT_STATUS[item["status"]],
            idempotency_key=str(item["idempotency_key"]) if item.get("idempotency_key") else None,
            provider_ref=str(item["provider_ref"]) if item.get("provider_ref") else None,
            error=f"receipt: {redact(str(reason))[:500]}" if reason else None,
        )
        named = item.get("idempotency_key") or item.get("provider_ref")
        if found is None:
            results.append({"message": named, "found": False})
        else:
            results.append({"message": named, "found": True, "status": found.status,
                            "changed": found.changed})
    return results


