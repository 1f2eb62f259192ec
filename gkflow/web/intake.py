"""12345 intake over HTTP: the hotline platform posts a work order (工单), signed like gkflow's outgoing
webhook; gkflow.services.hotline_intake opens the case. Replies go back through the webhook channel
as outbox rows the engine writes at each step (the dispatcher delivers them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gkflow.domain.errors import Forbidden, InvalidInput, Unauthenticated
from gkflow.services.hotline_intake import WorkOrderIn, take_order
from gkflow.web.deps import RawBody, RuntimeDep
from notifications.channels.webhook import verify_signature

router = APIRouter(prefix="/api/intake")

TOLERANCE_S = 300
MAX_BODY = 64 * 1024


class WorkOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64, description="the platform's work-order number")
    kind: Literal["enquiry", "complaint"] = Field(description="咨询 enquiry or 投诉 complaint")
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    content: str = Field(min_length=1, max_length=4000, description="诉求内容")
    fields: dict[str, str] | None = Field(default=None, description="further submit fields of the item")
    received_at: datetime | None = Field(
        default=None, description="when the hotline took the call (ISO 8601)"
    )


class IntakeAnswer(BaseModel):
    order_id: str
    case_no: str
    query_code: str | None = Field(default=None, description="only when this request opened the case")
    item: str
    duplicate: bool = Field(description="the order was taken in before: its case is named, none opened")


@router.post(
    "/12345",
    status_code=201,
    response_model=IntakeAnswer,
    response_model_exclude_none=True,
    responses={200: {"model": IntakeAnswer, "description": "a repeated work order: its existing case"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WorkOrder.model_json_schema()}},
        }
    },
)
def intake_12345(request: Request, rt: RuntimeDep, body: RawBody) -> JSONResponse:
    """Take in a 12345 work order (headers X-Gkflow-Timestamp, X-Gkflow-Signature: sha256=<hex>)."""
    secret = rt.settings.hotline_secret
    if not secret:
        raise Forbidden("the 12345 intake is not configured (set GKFLOW_HOTLINE_SECRET)")
    if len(body) > MAX_BODY:
        raise InvalidInput("the work order is too large")
    timestamp = request.headers.get("x-gkflow-timestamp", "")
    signature = request.headers.get("x-gkflow-signature", "")
    if not verify_signature(secret, timestamp, body, signature, rt.now(), tolerance_s=TOLERANCE_S):
        raise Unauthenticated("bad or expired signature (X-Gkflow-Timestamp, X-Gkflow-Signature)")
    try:
        order = WorkOrder.model_validate_json(body)
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
        raise InvalidInput(
            f"invalid work order: {'; '.join(f'{n}' for n in names)} — "
            + "; ".join(e["msg"] for e in exc.errors()),
            fields=names,
        ) from None
    taken = take_order(rt, WorkOrderIn(**order.model_dump()))
    answer = IntakeAnswer(order_id=taken.order_id, case_no=taken.case_no, query_code=taken.query_code,
                          item=taken.item, duplicate=taken.duplicate)
    if taken.duplicate:
        return JSONResponse({"order_id": taken.order_id, "case_no": taken.case_no, "duplicate": True},
                            status_code=200)
    return JSONResponse(answer.model_dump(), status_code=201)
