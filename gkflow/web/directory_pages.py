"""Public pages of the standard directory (政务公开事项标准目录) under /gk/directory: by area and by
department, each entry with its elements, latest publication and punctuality; CSV and JSON open data.
Registered before the static site's /gk/ catch-all (gkflow.web.app)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gkflow.services.directory_models import EntryView
from gkflow.services.directory_views import areas, departments, entry_detail, entry_views
from gkflow.web.deps import RuntimeDep
from gkflow.web.templating import PAGE_HEADERS, render

router = APIRouter()
CSV_HEAD = [
    "事项编码",
    "版本",
    "生效日期",
    "领域",
    "事项名称",
    "公开依据",
    "公开内容",
    "公开主体",
    "公开时限",
    "本地口径说明",
    "公开方式",
    "公开对象",
    "公开要求",
    "公开频次",
    "最近公开日期",
    "按时公开",
    "逾期公开",
    "逾期未公开",
]


def _page(
    request: Request, rt: RuntimeDep, *, title: str, area: str | None = None, department: str | None = None
) -> Response:
    views = entry_views(rt, area=area, department=department)
    return render(
        request,
        "directory.html",
        {
            "title": title,
            "entries": views,
            "areas": areas(rt),
            "departments": departments(rt),
            "area": area,
            "department": department,
        },
    )


@router.get("/gk/directory", include_in_schema=False)
def directory_redirect() -> Response:
    return RedirectResponse("/gk/directory/")


@router.get("/gk/directory/", response_class=HTMLResponse, include_in_schema=False)
def directory_page(request: Request, rt: RuntimeDep) -> Response:
    """Every entry, area by area."""
    return _page(request, rt, title="政务公开事项标准目录")


@router.get("/gk/directory/areas/{code}", response_class=HTMLResponse, include_in_schema=False)
def area_page(request: Request, rt: RuntimeDep, code: str) -> Response:
    """The entries of one pilot area."""
    area = next((a for a in areas(rt) if a.code == code), None)
    if area is None:
        from gkflow.domain.errors import NotFound

        raise NotFound(f"没有该公开领域 (no area '{code}')")
    return _page(request, rt, title=f"{area.name} · 政务公开事项标准目录", area=code)


@router.get("/gk/directory/departments/{name}", response_class=HTMLResponse, include_in_schema=False)
def department_page(request: Request, rt: RuntimeDep, name: str) -> Response:
    """The entries one department answers for."""
    if name not in departments(rt):
        from gkflow.domain.errors import NotFound

        raise NotFound("没有该公开主体 (no such department in the directory)")
    return _page(request, rt, title=f"{name} · 政务公开事项标准目录", department=name)


@router.get("/gk/directory/entries/{code}", response_class=HTMLResponse, include_in_schema=False)
def entry_page(
    request: Request, rt: RuntimeDep, code: str, version: int | None = Query(default=None, ge=1, le=1000)
) -> Response:
    """One entry's elements, versions and ledger."""
    view, rows = entry_detail(rt, code, version=version)
    return render(request, "directory_entry.html", {"e": view, "rows": rows[:200]})


# Internal wiring (task and trigger names, item codes) stays out of the public open data.
INTERNAL: dict[str, Any] = {"__all__": {"task": True, "cadence": {"item", "trigger"}}}


@router.get("/gk/directory/data.json", response_model=list[EntryView], response_model_exclude=INTERNAL,
            tags=["open data"])
def directory_json(rt: RuntimeDep) -> list[EntryView]:
    """The directory as open data: every entry with its elements, latest publication and punctuality."""
    return entry_views(rt)


@router.get("/gk/directory/data.csv", tags=["open data"])
def directory_csv(rt: RuntimeDep) -> Response:
    """The directory as CSV (UTF-8 with BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEAD)
    for e in entry_views(rt):
        p = e.punctuality
        writer.writerow(
            [
                e.code,
                e.version,
                e.effective_from.isoformat(),
                e.area,
                e.name,
                "；".join(f"{b.title}：{b.text}" for b in e.basis),
                e.content,
                e.department,
                e.time_limit.text,
                e.time_limit.assumption or "",
                "、".join(e.channels),
                e.audience,
                e.requirements,
                e.cadence.text,
                e.latest.published_on.isoformat() if e.latest and e.latest.published_on else "",
                p.on_time,
                p.published_late,
                p.open_overdue,
            ]
        )
    headers = {**PAGE_HEADERS, "Content-Disposition": 'inline; filename="directory.csv"'}
    return Response(
        buffer.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers=headers
    )
