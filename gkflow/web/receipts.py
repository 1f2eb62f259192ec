"""Delivery receipts: a gateway reports what became of a message it accepted.

``POST /api/receipts/{channel}``, signed like the outgoing webhook: header ``X-Gkflow-Timestamp``
(unix seconds) and ``X-Gkflow-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`` with the
channel's ``receipt_secret`` (config/channels.yaml, or GKFLOW_<CHANNEL>_RECEIPT_SECRET). Stale or
future timestamps are refused, so a captured request cannot be replayed later. The body is one
receipt or ``{"receipts": [...]}``; each names the message by ``idempotency_key`` (sent with the
message) or ``provider_ref`` (the gateway's own id) and says ``status``: ``delivered`` or
``failed``, with an optional ``reason``. Recording is idempotent, so a gateway may repeat a receipt.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gkflow import outbox
from gkflow.dispatch import ChannelsConfig, load_channels_config
from gkflow.domain.errors import InvalidInput, NotFound
from gkflow.runtime import Runtime
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from notifications.masking import redact

RECEIPT_STATUS = {"delivered": outbox.DELIVERED, "failed": outbox.PERMANENT_FAILURE,
                  "undelivered": outbox.PERMANENT_FAILURE, "permanent-failure": outbox.PERMANENT_FAILURE}
MAX_RECEIPTS = 500


def _receipts(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
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


def record(rt: Runtime, channel: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def mount(app: FastAPI, rt: Runtime) -> None:
    config: ChannelsConfig = load_channels_config(rt.settings)

    @app.post("/api/receipts/{channel}", tags=["receipts"], summary="A gateway's delivery receipt (signed)")
    async def receive(channel: str, request: Request) -> JSONResponse:
        secret = config.receipt_secrets.get(channel)
        if not secret:
            raise NotFound(f"no delivery receipts are configured for channel '{channel}'")
        body = await request.body()
        if not verify_signature(secret, request.headers.get(TIMESTAMP_HEADER), body,
                                request.headers.get(SIGNATURE_HEADER), rt.now()):
            return JSONResponse({"error": {"code": "forbidden",
                                           "message": "missing, wrong or stale receipt signature"}},
                                status_code=401)
        results = await run_in_threadpool(record, rt, channel, _receipts(body))
        if len(results) == 1 and not results[0]["found"]:
            raise NotFound("no such message on this channel")
        return JSONResponse({"results": results})
