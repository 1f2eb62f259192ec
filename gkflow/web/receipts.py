"""Delivery receipts over HTTP: a gateway reports what became of a message it accepted.

``POST /api/receipts/{channel}``, signed like the outgoing webhook: header ``X-Gkflow-Timestamp``
(unix seconds) and ``X-Gkflow-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`` with the
channel's ``receipt_secret`` (config/channels.yaml, or GKFLOW_<CHANNEL>_RECEIPT_SECRET). Stale or
future timestamps are refused, so a captured request cannot be replayed later. The body is one
receipt or ``{"receipts": [...]}``; each names the message by ``idempotency_key`` (sent with the
message) or ``provider_ref`` (the gateway's own id) and says ``status``: ``delivered`` or
``failed``, with an optional ``reason``. Recording is idempotent, so a gateway may repeat a receipt.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gkflow.delivery.config import ChannelsConfig
from gkflow.delivery.receipts import parse_receipts, record_receipts
from gkflow.domain.errors import NotFound
from gkflow.web.deps import RuntimeDep
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

router = APIRouter(prefix="/api/receipts", tags=["receipts"])


class ReceiptResult(BaseModel):
    message: str
    found: bool
    status: str | None = None
    changed: bool | None = None


class ReceiptResults(BaseModel):
    results: list[ReceiptResult]


@router.post("/{channel}", summary="A gateway's delivery receipt (signed)", response_model=ReceiptResults,
             response_model_exclude_none=True)
async def receive(channel: str, request: Request, rt: RuntimeDep) -> JSONResponse:
    config: ChannelsConfig = request.app.state.channels_config
    secret = config.receipt_secrets.get(channel)
    if not secret:
        raise NotFound(f"no delivery receipts are configured for channel '{channel}'")
    body = await request.body()
    if not verify_signature(secret, request.headers.get(TIMESTAMP_HEADER), body,
                            request.headers.get(SIGNATURE_HEADER), rt.now()):
        return JSONResponse({"error": {"code": "forbidden",
                                       "message": "missing, wrong or stale receipt signature"}},
                            status_code=401)
    results = await run_in_threadpool(record_receipts, rt, channel, parse_receipts(body))
    if len(results) == 1 and not results[0]["found"]:
        raise NotFound("no such message on this channel")
    return JSONResponse({"results": results})
