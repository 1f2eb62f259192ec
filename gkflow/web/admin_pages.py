"""Administrator pages: the monitoring dashboard, dead-letter retry, the catalogue with state diagrams."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gkflow.delivery.outbox import retry_dead
from gkflow.domain.errors import Conflict
from gkflow.services.dashboard import dashboard
from gkflow.web.deps import AdminSession, ApiAdmin, FormData, RowId, RuntimeDep, check_csrf
from gkflow.web.svg import bar_chart, state_diagram
from gkflow.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/admin")

STATUS_COLOURS = {
    "delivered": "#3f9142",
    "created": "#2f8ac4",
    "sending": "#0b4f8a",
    "temporary-failure": "#f0b429",
    "dead": "#e12d39",
    "permanent-failure": "#e12d39",
    "technical-failure": "#e12d39",
}


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    cases, ratings, notices = data["cases"], data["ratings"], data["notices"]
    rate = ratings["rate"]
    on_time = cases["on_time_rate"]
    return {
        "by_item": bar_chart([(r["item_name"], r["count"]) for r in cases["per_item"]], title="各事项办件量"),
        "satisfaction": bar_chart(
            [
                ("满意率", round(rate * 100, 1) if rate is not None else 0.0),
                ("按时办结率", round(on_time * 100, 1) if on_time is not None else 0.0),
            ],
            title="满意率与按时办结率",
            unit="%",
            goal=ratings["goal"] * 100,
            max_value=100,
            colours=["#3f9142" if ratings["meets_goal"] else "#e12d39", "#2f8ac4"],
        ),
        "levels": bar_chart(
            [(lv["label"], lv["count"]) for lv in ratings["levels"]],
            title="评价分布",
            colours=["#3f9142", "#63b46b", "#9aa5b1", "#f0b429", "#e12d39"],
        ),
        "notices": bar_chart(
            [(f"{r['kind']} · {r['status']}", r["count"]) for r in notices["by_status"]],
            title="通知投递状态",
            colours=[STATUS_COLOURS.get(r["status"], "#7b8794") for r in notices["by_status"]],
        ),
    }


@router.get("/admin", response_class=HTMLResponse)
def dashboard_page(request: Request, rt: RuntimeDep, session: AdminSession) -> Response:
    data = dashboard(rt)
    return render(
        request,
        "dashboard.html",
        {
            "d": data,
            "charts": _charts(data),
            "retried": request.query_params.get("retried"),
            "rows": data["rectifications"],
        },
        session=session,
    )


@router.post("/admin/outbox/{message_id}/retry")
def retry_dead_letter(
    request: Request, rt: RuntimeDep, session: AdminSession, message_id: RowId, form: FormData
) -> Response:
    check_csrf(request, form, session)
    if not retry_dead(rt, message_id):
        raise Conflict(f"notice {message_id} is not a dead letter (already retried or delivered?)")
    return RedirectResponse(f"/admin?retried={message_id}#dead-letters", status_code=303)


@router.get("/admin/catalogue", response_class=HTMLResponse)
def catalogue_page(request: Request, rt: RuntimeDep, session: AdminSession) -> Response:
    catalogue = rt.catalogue
    items = [
        {"latest": catalogue.latest(code), "versions": catalogue.versions[code]} for code in catalogue.codes()
    ]
    return render(request, "catalogue.html", {"items": items}, session=session)


@router.get("/admin/catalogue/{code}", response_class=HTMLResponse)
def catalogue_item_page(
    request: Request, rt: RuntimeDep, session: AdminSession, code: str,
    version: int | None = Query(default=None, ge=1),
) -> Response:
    catalogue = rt.catalogue
    item = catalogue.get(code, version) if version else catalogue.latest(code)
    return render(
        request,
        "catalogue_item.html",
        {
            "item": item,
            "versions": catalogue.versions[code],
            "diagram": state_diagram(item),
        },
        session=session,
    )


@api_router.get("/dashboard")
def dashboard_api(rt: RuntimeDep, _admin: ApiAdmin) -> Any:
    """The dashboard's figures as JSON (administrator token)."""
    return jsonable_encoder(dashboard(rt))
