"""The administrator's scorecard (部门考核): ranking with SVG charts, drill-down to the records behind
every number, manual entries with evidence, and XLSX / CSV export; its JSON for an admin token."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gkflow.publication.periods import Cadence, last_formed
from gkflow.services.evidence import read_evidence, store_evidence
from gkflow.services.scorecard import compute_scorecard
from gkflow.services.scorecard_config import load_scorecard_config
from gkflow.services.scorecard_entries import KINDS, record_entry
from gkflow.services.scorecard_export import scorecard_csv, scorecard_xlsx
from gkflow.services.scorecard_models import Scorecard
from gkflow.web.deps import AdminSession, ApiAdmin, RuntimeDep, StaffSession, check_csrf
from gkflow.web.forms import UploadForm
from gkflow.web.svg import bar_chart
from gkflow.web.templating import PAGE_HEADERS, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/admin")
PERIOD = Query(default="", max_length=10, description="2026-11, 2026-Q4 or 2026 (default: last month)")


def _period(rt: RuntimeDep, period: str) -> str:
    return period.strip() or last_formed(Cadence.MONTHLY, rt.local_date(rt.now())).label


def short_name(department: str) -> str:
    """A department's name short enough for a chart label (the table gives it in full)."""
    name = department.split("（")[0]
    for prefix in ("国家税务总局格尔木市", "格尔木市"):
        name = name.removeprefix(prefix)
    note = "（" + department.split("（", 1)[1][:4] + "…）" if "（" in department else ""
    return (name + note)[:16]


def _charts(card: Scorecard) -> dict[str, object]:
    scores = [(short_name(d.department), d.score) for d in card.departments]
    colours = ["#e12d39" if d.zeroed else "#0b4f8a" for d in card.departments]
    rated = [
        (d.department, round((d.indicators["satisfaction"].value or 0) * 100, 1))
        for d in card.departments
        if "satisfaction" in d.indicators and d.indicators["satisfaction"].applicable
    ]
    return {
        "scores": bar_chart(scores, title="各部门考核得分", max_value=100, colours=colours),
        "satisfaction": bar_chart(rated, title="各部门好差评满意率", unit="%", goal=98, max_value=100),
    }


@router.get("/admin/scorecard", response_class=HTMLResponse)
def scorecard_page(request: Request, rt: RuntimeDep, session: AdminSession, period: str = PERIOD) -> Response:
    """The ranking of every department for a period."""
    chosen = _period(rt, period)
    card = compute_scorecard(rt, chosen)
    config = load_scorecard_config(rt.settings)
    return render(
        request,
        "scorecard.html",
        {
            "card": card,
            "charts": _charts(card),
            "config": config,
            "kinds": KINDS,
            "recorded": request.query_params.get("recorded"),
            "keys": list(card.departments[0].indicators) if card.departments else [],
        },
        session=session,
    )


@router.get("/admin/scorecard/department", response_class=HTMLResponse)
def department_page(
    request: Request,
    rt: RuntimeDep,
    session: AdminSession,
    period: str = PERIOD,
    department: str = Query(max_length=200),
) -> Response:
    """One department: each indicator's definition and the records behind it, and the manual entries."""
    card = compute_scorecard(rt, _period(rt, period), with_records=True)
    found = next((d for d in card.departments if d.department == department), None)
    if found is None:
        from gkflow.domain.errors import NotFound

        raise NotFound(f"{department} 不在本期考核范围内")
    entries = [e for e in card.entries if e["department"] == department]
    return render(
        request,
        "scorecard_department.html",
        {
            "card": card,
            "d": found,
            "records": card.records.get(department, {}),
            "entries": entries,
            "kinds": KINDS,
            "config": load_scorecard_config(rt.settings),
        },
        session=session,
    )


@router.post("/admin/scorecard/entries")
def add_entry(request: Request, rt: RuntimeDep, session: AdminSession, form: UploadForm) -> Response:
    """Record an annex item's score, a bonus or a deduction (with reason and evidence)."""
    fields = form.fields
    check_csrf(request, fields, session)
    evidence = store_evidence(rt.settings, *form.file) if form.file else None
    entry = record_entry(
        rt,
        load_scorecard_config(rt.settings),
        department=fields.get("department", ""),
        period=_period(rt, fields.get("period", "")),
        kind=fields.get("kind", ""),
        item=fields.get("item", ""),
        points=fields.get("points", ""),
        reason=fields.get("reason", ""),
        evidence=fields.get("evidence", ""),
        evidence_file=evidence,
        actor=session.account.username,
    )
    return RedirectResponse(
        f"/admin/scorecard?period={quote(entry.period)}&recorded={entry.id}#entries", status_code=303
    )


def _download(content: bytes, media: str, name: str) -> Response:
    headers = {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=media, headers=headers)


@router.get("/admin/scorecard/export.csv")
def export_csv(rt: RuntimeDep, _session: AdminSession, period: str = PERIOD) -> Response:
    """The ranking as CSV."""
    card = compute_scorecard(rt, _period(rt, period))
    return _download(scorecard_csv(card), "text/csv; charset=utf-8", f"scorecard-{card.period}.csv")


@router.get("/admin/scorecard/export.xlsx")
def export_xlsx(rt: RuntimeDep, _session: AdminSession, period: str = PERIOD) -> Response:
    """The ranking, the records behind it and the manual entries as an Excel workbook."""
    card = compute_scorecard(rt, _period(rt, period), with_records=True)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(scorecard_xlsx(card), media, f"scorecard-{card.period}.xlsx")


@router.get("/staff/evidence/{digest}")
def evidence_file(rt: RuntimeDep, _session: StaffSession, digest: str) -> Response:
    """A stored evidence file (staff and administrators)."""
    content, media = read_evidence(rt.settings, digest)
    return _download(content, media, digest[:12])


@api_router.get("/scorecard", response_model=Scorecard)
def scorecard_api(rt: RuntimeDep, _admin: ApiAdmin, period: str = PERIOD) -> Scorecard:
    """The scorecard of a period with the records behind every number (administrator token)."""
    return compute_scorecard(rt, _period(rt, period), with_records=True)
