"""12345 intake: the hotline platform posts a work order (工单), signed like gkflow's outgoing webhook;
gkflow opens a case of the matching work-order item. Replies go back through the webhook channel as
outbox rows the engine writes at each step (the dispatcher delivers them)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.db.web_models import HotlineOrderRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict, Forbidden, InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case, write_connection
from gkflow.web.common import RawBody, Unauthenticated, rt_of
from notifications.channels.webhook import verify_signature

router = APIRouter(prefix="/api/intake")
orders_t = HotlineOrderRow.__table__

ITEMS = {"enquiry": "hotline-enquiry", "complaint": "hotline-complaint"}
TOLERANCE_S = 300
MAX_BODY = 64 * 1024
HOTLINE_ACTOR = Actor("hotline-12345", "system")


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


def intake_secret(rt: Runtime) -> str | None:
    """The shared secret of the 12345 platform (GKFLOW_HOTLINE_SECRET, or a settings field of that name)."""
    return getattr(rt.settings, "hotline_secret", None) or os.environ.get("GKFLOW_HOTLINE_SECRET") or None


@router.post(
    "/12345",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WorkOrder.model_json_schema()}},
        }
    },
)
def intake_12345(request: Request, body: RawBody) -> Any:
    """Take in a 12345 work order (headers X-Gkflow-Timestamp, X-Gkflow-Signature: sha256=<hex>)."""
    rt = rt_of(request)
    secret = intake_secret(rt)
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
    return take_order(rt, order)


def take_order(rt: Runtime, order: WorkOrder) -> JSONResponse:
    now = rt.now()
    with write_connection(rt) as conn, conn.begin():
        existing = conn.execute(
            select(orders_t.c.case_no).where(orders_t.c.order_id == order.order_id)
        ).first()
        if existing is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        orders_t.insert().values(order_id=order.order_id, case_no="", received_at=now)
                    )
            except IntegrityError:
                existing = conn.execute(
                    select(orders_t.c.case_no).where(orders_t.c.order_id == order.order_id)
                ).first()
    if existing is not None:
        if not existing.case_no:
            raise Conflict(f"work order {order.order_id} is being taken in; retry shortly")
        return JSONResponse(
            {"order_id": order.order_id, "case_no": existing.case_no, "duplicate": True}, status_code=200
        )
    try:
        submitted = submit_case(
            rt,
            ITEMS[order.kind],
            Applicant(order.name, order.phone),
            received_at=order.received_at,
            intake_channel="hotline",
            fields={"content": order.content, **(order.fields or {})},
            actor=HOTLINE_ACTOR,
        )
    except Exception:
        with write_connection(rt) as conn, conn.begin():
            conn.execute(
                orders_t.delete().where(orders_t.c.order_id == order.order_id, orders_t.c.case_no == "")
            )
        raise
    with write_connection(rt) as conn, conn.begin():
        conn.execute(
            orders_t.update().where(orders_t.c.order_id == order.order_id).values(case_no=submitted.case_no)
        )
    return JSONResponse(
        {
            "order_id": order.order_id,
            "case_no": submitted.case_no,
            "query_code": submitted.query_code,
            "item": ITEMS[order.kind],
            "duplicate": False,
        },
        status_code=201,
    )
