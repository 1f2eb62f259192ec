"""12345 intake (工单): a work order from the hotline platform opens a case of the matching item,
once per work-order id, in one transaction with the order's record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import HotlineOrderRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case_in

ITEMS = {"enquiry": "hotline-enquiry", "complaint": "hotline-complaint"}
HOTLINE_ACTOR = Actor("hotline-12345", "system")

orders_t = table_of(HotlineOrderRow)


@dataclass(frozen=True)
class WorkOrderIn:
    order_id: str
    kind: Literal["enquiry", "complaint"]
    name: str
    content: str
    phone: str | None = None
    fields: dict[str, str] | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class TakenOrder:
    order_id: str
    case_no: str
    item: str
    duplicate: bool
    query_code: str | None = None  # only when this call opened the case


class _LostRace(Exception):
    """Another delivery of the same order committed first."""


def take_order(rt: Runtime, order: WorkOrderIn) -> TakenOrder:
    """Open the order's case, or name the case an earlier delivery of the same order opened."""
    item = ITEMS[order.kind]
    for _attempt in range(2):
        try:
            with write_connection(rt.engine) as conn, conn.begin():
                existing = conn.execute(
                    select(orders_t.c.case_no).where(orders_t.c.order_id == order.order_id)
                ).scalar()
                if existing:
                    return TakenOrder(order.order_id, existing, item, duplicate=True)
                submitted = submit_case_in(
                    conn, rt, item, Applicant(order.name, order.phone), received_at=order.received_at,
                    intake_channel="hotline", fields={"content": order.content, **(order.fields or {})},
                    actor=HOTLINE_ACTOR,
                )
                try:
                    with conn.begin_nested():
                        conn.execute(orders_t.insert().values(
                            order_id=order.order_id, case_no=submitted.case_no, received_at=rt.now()))
                except IntegrityError:
                    # The platform delivered the same order twice at once and the other delivery
                    # won: leaving the block rolls this case back; answer with the other's case.
                    raise _LostRace from None
                return TakenOrder(order.order_id, submitted.case_no, item, duplicate=False,
                                  query_code=submitted.query_code)
        except _LostRace:
            continue
    raise Conflict(f"work order {order.order_id} is being taken in; retry shortly")
