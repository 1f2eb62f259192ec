"""Window registration (Post/Redirect/Get with a one-time form token), the printable slip of any
case (收件凭证 / 受理通知书 / 依申请公开登记回执) and a new query code for a lost one."""

from __future__ import annotations

import secrets
from urllib.parse import quote

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from gkflow.domain.access import registering_role, require_may_see_case
from gkflow.domain.cases import Actor
from gkflow.domain.errors import GkflowError, NotFound
from gkflow.services.cases import Applicant
from gkflow.services.views import load_case_row, show_case
from gkflow.services.window import code_for_slip, register_at_window, reissue_query_code, slip_facts
from gkflow.web.deps import FormData, RuntimeDep, StaffSession, check_csrf
from gkflow.web.errors import http_status
from gkflow.web.templating import render, set_cookie
from gkflow.web.worklist_pages import department_items

router = APIRouter(prefix="/staff", include_in_schema=False)

# The query code travels from the registration POST to the slip page in this cookie (HttpOnly, for
# ten minutes), never in a URL: it would land in access logs and browser history.
SLIP_COOKIE = "gkflow_slip"
SLIP_COOKIE_SECONDS = 600
SLIP_TITLES = {
    "registration_receipt": "政府信息公开申请登记回执",
    "receipt": "收件凭证（材料接收凭证）",
    "acceptance": "受理通知书",
}


def _slip_url(case_no: str, *, repeated: bool = False) -> str:
    return f"/staff/cases/{quote(case_no, safe='')}/slip" + ("?repeated=1" if repeated else "")


def _to_slip(request: Request, case_no: str, code: str, *, repeated: bool = False) -> Response:
    response = RedirectResponse(_slip_url(case_no, repeated=repeated), status_code=303)
    set_cookie(request, response, SLIP_COOKIE, f"{case_no}:{code}", max_age=SLIP_COOKIE_SECONDS)
    return response


@router.get("/register", response_class=HTMLResponse)
def register_form(
    request: Request, rt: RuntimeDep, session: StaffSession, item: str = Query(default="", max_length=100)
) -> Response:
    registering_role(session.account)
    items = department_items(rt, session.account)
    chosen = next((i for i in items if i.code == item), None)
    response = render(
        request,
        "register.html",
        {"items": items, "chosen": chosen, "error": None, "values": {},
         "form_token": secrets.token_urlsafe(24)},
        session=session,
    )
    # The back button must bring back this very form (and its token) from the browser's cache, not a
    # fresh one with a new token: no-store would make a resubmission after "back" a second case.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@router.post("/register", response_class=HTMLResponse)
def register(request: Request, rt: RuntimeDep, session: StaffSession, form: FormData) -> Response:
    role = registering_role(session.account)
    check_csrf(request, form, session)
    items = department_items(rt, session.account)
    chosen = next((i for i in items if i.code == form.get("item")), None)
    if chosen is None:
        raise NotFound(f"事项 {form.get('item', '')} 不在本部门事项中")
    fields = {k[2:]: v for k, v in form.items() if k.startswith("f_") and v.strip()}
    account = session.account
    materials = [m.name for i, m in enumerate(chosen.materials) if form.get(f"material_{i}")]
    try:
        registered = register_at_window(
            rt, chosen.code,
            Applicant(form.get("name", ""), form.get("phone") or None, form.get("id_number") or None,
                      form.get("email") or None),
            form_token=form.get("form_token", ""), actor=Actor(account.username, role, account.department),
            fields=fields, materials=materials,
        )
    except GkflowError as exc:
        return render(
            request,
            "register.html",
            {"items": items, "chosen": chosen, "error": exc.message, "values": form,
             "form_token": form.get("form_token") or secrets.token_urlsafe(24)},
            status_code=http_status(exc),
            session=session,
        )
    return _to_slip(request, registered.case_no, registered.query_code, repeated=registered.repeated)


@router.get("/cases/{case_no}/slip", response_class=HTMLResponse)
def slip(request: Request, rt: RuntimeDep, session: StaffSession, case_no: str) -> Response:
    """The printable slip; the query code only in the ten minutes after registration."""
    view = show_case(rt, case_no)
    require_may_see_case(session.account, case_no=case_no, department=view.department,
                         assigned_department=view.assigned_department)
    item = rt.item(view.item, view.item_version)
    row = load_case_row(rt, case_no)
    facts = slip_facts(rt, int(row["id"]), case_no, item)
    remembered = request.cookies.get(SLIP_COOKIE, "")
    cookie_case, _, cookie_code = remembered.partition(":")
    code = code_for_slip(rt, case_no, cookie_code) if cookie_case == case_no else None
    base = rt.settings.public_base_url.rstrip("/")
    status_url = f"{base}/status/{case_no}"
    # The QR carries only the status URL: the code is printed beside it, never put in a URL or a log.
    qr = Markup(segno.make(status_url, error="m").svg_inline(scale=4, title="办件查询二维码"))  # noqa: S704
    return render(
        request,
        "acknowledgement.html",
        {
            "view": view,
            "item": item,
            "title": SLIP_TITLES[facts.kind],
            "kind": facts.kind,
            "query_code": code,
            "status_url": status_url,
            "qr_svg": qr,
            "received_materials": facts.materials,
            "clerk": facts.registered_by or "—",
            "repeated": request.query_params.get("repeated") == "1",
            "may_register": _may_register(session.account),
        },
        session=session,
    )


def _may_register(account: object) -> bool:
    try:
        registering_role(account)  # type: ignore[arg-type]
    except GkflowError:
        return False
    return True


@router.post("/cases/{case_no}/query-code")
def new_query_code(
    request: Request, rt: RuntimeDep, session: StaffSession, case_no: str, form: FormData
) -> Response:
    """A new query code after the applicant's identity was checked at the window; the old one stops."""
    check_csrf(request, form, session)
    role = registering_role(session.account)
    view = show_case(rt, case_no)
    require_may_see_case(session.account, case_no=case_no, department=view.department,
                         assigned_department=view.assigned_department)
    account = session.account
    code = reissue_query_code(rt, case_no, Actor(account.username, role, account.department))
    return _to_slip(request, case_no, code)
