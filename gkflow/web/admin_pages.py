"""Administrator pages: the dashboard (two screens of figures, each a link to its list) and the
catalogue with state diagrams; the lists themselves are in console_pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response

from gkflow.services.dashboard import dashboard
from gkflow.services.notice_views import STATUS_LABELS
from gkflow.web.deps import AdminSession, ApiAdmin, RuntimeDep
from gkflow.web.diagrams import state_diagram
from gkflow.web.svg import line_chart
from gkflow.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/admin")

@router.get("/admin", response_class=HTMLResponse)
def dashboard_page(request: Request, rt: RuntimeDep, session: AdminSession) -> Response:
    data = dashboard(rt)
    trend = data["trend"]
    return render(
        request,
        "dashboard.html",
        {
            "d": data,
            "trend_svg": line_chart(
                [(m["month"][2:].replace("-", "."), None if m["rate"] is None else round(m["rate"] * 100, 1))
                 for m in trend],
                title="满意率月度走势", unit="%", goal=data["ratings"]["goal"] * 100,
            ),
            "status_labels": STATUS_LABELS,
        },
        session=session,
    )


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
