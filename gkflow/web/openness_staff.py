"""Staff page of the directory's ledger: a department sees what it owes and records where and when it
published (URL, date, evidence file); administrators see every department."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gkflow.domain.errors import InvalidInput
from gkflow.services.directory_views import departments, entry_views
from gkflow.services.evidence import store_evidence
from gkflow.services.openness_ledger import ledger
from gkflow.services.openness_records import record_publication
from gkflow.web.deps import RuntimeDep, StaffSession, check_csrf
from gkflow.web.forms import UploadForm
from gkflow.web.templating import render

router = APIRouter(include_in_schema=False)


def _date(value: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{label}须为日期（YYYY-MM-DD）", fields=[field]) from None


@router.get("/staff/openness", response_class=HTMLResponse)
def openness_page(
    request: Request,
    rt: RuntimeDep,
    session: StaffSession,
    department: str = Query(default="", max_length=200),
) -> Response:
    """What the department owes: open and late rows first, with a form per row it records itself."""
    account = session.account
    chosen = (
        department if account.is_admin and department else (None if account.is_admin else account.department)
    )
    rows = ledger(rt, department=chosen) if (chosen or account.is_admin) else []
    entries = {e.code: e for e in entry_views(rt, department=chosen)} if rows or chosen else {}
    manual = [e for e in entries.values() if not e.automated]
    rows = sorted(rows, key=lambda r: (r.published_on is not None, not r.late, r.due_on))
    return render(
        request,
        "openness_staff.html",
        {
            "rows": rows,
            "entries": entries,
            "manual": manual,
            "department": chosen,
            "departments": departments(rt),
            "recorded": request.query_params.get("recorded"),
            "today": rt.local_date(rt.now()),
        },
        session=session,
    )


@router.post("/staff/openness/record")
def record(request: Request, rt: RuntimeDep, session: StaffSession, form: UploadForm) -> Response:
    """Record a publication (period, event or change) with its URL, date and evidence."""
    fields = form.fields
    check_csrf(request, fields, session)
    formed = fields.get("formed_on", "").strip()
    evidence = store_evidence(rt.settings, *form.file) if form.file else None
    account = session.account
    row = record_publication(
        rt,
        fields.get("entry", ""),
        fields.get("subject", ""),
        published_on=_date(fields.get("published_on", ""), "published_on", "发布日期"),
        formed_on=_date(formed, "formed_on", "形成日期") if formed else None,
        url=fields.get("url", ""),
        user=account.username,
        department=account.department,
        is_admin=account.is_admin,
        evidence=evidence,
        note=fields.get("note"),
    )
    back = f"/staff/openness?recorded={quote(row.entry + ' ' + row.subject)}"
    if account.is_admin:
        back += f"&department={quote(row.department)}"
    return RedirectResponse(back, status_code=303)
