"""The administrator's lists behind the dashboard: notices (with one message as its recipient sees
it, and retries), the publication ledger, rectifications and flow runs."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gkflow.services.flow_runs import prefect_runs, recent_runs
from gkflow.services.notice_views import (
    CHANNEL_LABELS,
    STATUS_LABELS,
    notice_detail,
    notice_list,
    retry_all_notices,
    retry_notice,
)
from gkflow.services.publication_views import ledger_view
from gkflow.services.ratings import rectifications
from gkflow.web.deps import AdminSession, FormData, RuntimeDep, check_csrf
from gkflow.web.templating import PAGE_HEADERS, render

router = APIRouter(prefix="/admin", include_in_schema=False)

# An e-mail's own HTML, shown inside a sandboxed frame on the notice page: no scripts, no requests,
# inline styles only (e-mail HTML has nothing else), framed by this site only.
EMAIL_FRAME_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "frame-ancestors 'self'; sandbox",
    "X-Frame-Options": "SAMEORIGIN",
}


@router.get("/notices", response_class=HTMLResponse)
def notices_page(
    request: Request, rt: RuntimeDep, session: AdminSession,
    status: str = Query(default="", max_length=30), channel: str = Query(default="", max_length=30),
    case: str = Query(default="", max_length=64), before: int | None = Query(default=None, ge=1),
) -> Response:
    page = notice_list(rt, status=status or None, channel=channel or None, case_no=case or None,
                       before=before)
    params = {k: v for k, v in {"status": status, "channel": channel, "case": case}.items() if v}
    return render(request, "notices.html", {
        "page": page, "f": {"status": status, "channel": channel, "case": case},
        "status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS,
        "next_url": "/admin/notices?" + urlencode({**params, "before": page["next_before"]})
        if page["next_before"] else None,
        "retried": request.query_params.get("retried"),
    }, session=session)


@router.get("/notices/{message_id}", response_class=HTMLResponse)
def notice_page(request: Request, rt: RuntimeDep, session: AdminSession, message_id: int) -> Response:
    return render(request, "notice.html", {"m": notice_detail(rt, message_id),
                                           "retried": request.query_params.get("retried")}, session=session)


@router.get("/notices/{message_id}/email.html", response_class=HTMLResponse)
def notice_email(rt: RuntimeDep, _session: AdminSession, message_id: int) -> Response:
    """The e-mail's HTML for the sandboxed frame of the notice page (never shown as source)."""
    html = notice_detail(rt, message_id)["rendered"]["html"] or "<p>（此通知没有 HTML 正文）</p>"
    return HTMLResponse(html, headers=EMAIL_FRAME_HEADERS)


@router.post("/notices/{message_id}/retry")
def retry_one(request: Request, rt: RuntimeDep, session: AdminSession, message_id: int,
              form: FormData) -> Response:
    check_csrf(request, form, session)
    retry_notice(rt, message_id)
    target = "/admin/notices" if form.get("back") == "list" else f"/admin/notices/{message_id}"
    return RedirectResponse(f"{target}?retried={message_id}", status_code=303)


@router.post("/notices/retry-all")
def retry_all(request: Request, rt: RuntimeDep, session: AdminSession, form: FormData) -> Response:
    check_csrf(request, form, session)
    count = retry_all_notices(rt)
    return RedirectResponse(f"/admin/notices?retried=all-{count}", status_code=303)


@router.get("/publications", response_class=HTMLResponse)
def publications_page(request: Request, rt: RuntimeDep, session: AdminSession,
                      task: str = Query(default="", max_length=60)) -> Response:
    return render(request, "publications.html", {"v": ledger_view(rt, task=task or None), "task": task},
                  session=session)


@router.get("/rectifications", response_class=HTMLResponse)
def rectifications_page(request: Request, rt: RuntimeDep, session: AdminSession,
                        status: str = Query(default="open", pattern="^(open|closed|all)$")) -> Response:
    rows = rectifications(rt, status=None if status == "all" else status, limit=500)
    return render(request, "admin_rectifications.html", {"rows": rows, "status": status}, session=session)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, rt: RuntimeDep, session: AdminSession) -> Response:
    return render(request, "runs.html", {"runs": recent_runs(rt, limit=100), "prefect": prefect_runs()},
                  session=session)
