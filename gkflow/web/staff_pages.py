"""Staff pages: login, the department worklist, the case page with its actions, window registration
with the printed acknowledgement (受理回执), and the department's rectifications."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from gkflow.domain.access import (
    department_filter,
    may_act,
    may_register,
    registering_role,
    require_may_act_on_cases,
    require_may_see_case,
)
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict, Forbidden, GkflowError, InvalidInput, NotFound
from gkflow.domain.items import ItemVersion
from gkflow.domain.masking import mask_name
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account, authenticate
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.services.lookup_limits import check_login, record_login_failure, record_login_success
from gkflow.services.materials import MATERIALS_ACTION, staff_materials
from gkflow.services.ratings import close_rectification, rectifications
from gkflow.services.read_models import CaseView
from gkflow.services.sessions import Session, close_session, open_session
from gkflow.services.views import show_case
from gkflow.services.worklist import worklist, worklist_count
from gkflow.web.deps import (
    SESSION_COOKIE,
    ClientKey,
    FormData,
    RowId,
    RuntimeDep,
    StaffSession,
    check_csrf,
    direct_client,
)
from gkflow.web.errors import error_headers, http_status
from gkflow.web.staff_files import form_fields
from gkflow.web.templating import render, set_cookie

router = APIRouter(prefix="/staff", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff"


# -- login ----------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = Query(default="/staff", max_length=500)) -> Response:  # noqa: A002
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": ""})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, rt: RuntimeDep, client: ClientKey, form: FormData) -> Response:
    check_csrf(request, form, None)
    username = form.get("username", "").strip()
    target = _safe_next(form.get("next"))
    try:
        counted = check_login(rt, client=client, username=username)
        account = authenticate(rt, username, form.get("password", ""), client=direct_client(request))
    except GkflowError as exc:
        refused = render(
            request,
            "login.html",
            {"next": target, "error": exc.message, "username": username},
            status_code=http_status(exc),
        )
        refused.headers.update(error_headers(exc))
        return refused
    if account is None:
        record_login_failure(rt, client=client, username=username)
        return render(
            request,
            "login.html",
            {"next": target, "error": "用户名或密码错误", "username": username},
            status_code=401,
        )
    record_login_success(rt, username=username, counted=counted)
    token, _session = open_session(rt, account)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=8 * 3600)
    return response


@router.post("/logout")
def logout(request: Request, rt: RuntimeDep, session: StaffSession, form: FormData) -> Response:
    check_csrf(request, form, session)
    close_session(rt, session)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- worklist -------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    rt: RuntimeDep,
    session: StaffSession,
    item: str = Query(default="", max_length=100),
    state: str = Query(default="", max_length=100),
    sort: str = Query(default="due", pattern="^(due|received|case_no|state|item)$"),
) -> Response:
    account = session.account
    entries = worklist(rt, account, item=item or None, state=state or None, sort=sort)
    total = worklist_count(rt, account, item=item or None, state=state or None)
    items = _department_items(rt, account)
    states: list[tuple[str, str]] = []
    for it in items if not item else [i for i in items if i.code == item]:
        states += [
            (s.name, s.label) for s in it.states.values() if not s.final and (s.name, s.label) not in states
        ]
    return render(
        request,
        "worklist.html",
        {
            "entries": entries,
            "total": total,
            "items": items,
            "states": states,
            "filter_item": item,
            "filter_state": state,
            "sort": sort,
            "may_register": may_register(account),
        },
        session=session,
    )


# -- case page and actions ------------------------------------------------------------------------


def _case_context(rt: Runtime, session: Session, case_no: str) -> dict[str, Any]:
    view = show_case(rt, case_no)
    require_may_see_case(session.account, case_no=case_no, department=view.department,
                         assigned_department=view.assigned_department)
    item = rt.item(view.item, view.item_version)
    actions = [
        {"transition": transition, "allowed": may_act(session.account, transition.roles),
         "roles": transition.roles}
        for transition in item.transitions_from(view.state)
    ]
    labels = {t.name: {f.name: f.label for f in t.fields} for t in item.transitions.values()}
    labels[MATERIALS_ACTION] = {f"file{i}": f"文件{i}" for i in range(1, 101)}
    labels["submit"] = {f.name: f.label for f in item.submit_fields}
    return {
        "view": view,
        "item": item,
        "actions": actions,
        "message": None,
        "message_kind": "ok",
        "form_values": {},
        "field_labels": labels,
        "files": staff_materials(rt, session.account, case_no),
    }


@router.get("/cases/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, rt: RuntimeDep, session: StaffSession, case_no: str) -> Response:
    context = _case_context(rt, session, case_no)
    done = request.query_params.get("done")
    if done:
        transition = context["item"].transitions.get(done)
        context["message"] = f"已办理：{transition.label if transition else done}"
    return render(request, "case.html", context, session=session)


@router.post("/cases/{case_no}/actions/{action}", response_class=HTMLResponse)
def case_action(
    request: Request, rt: RuntimeDep, session: StaffSession, case_no: str, action: str, form: FormData
) -> Response:
    check_csrf(request, form, session)
    account = session.account
    context = _case_context(rt, session, case_no)  # also checks the department may see it
    transition = context["item"].transitions.get(action)
    fields = form_fields(form)
    try:
        expected = int(form.get("expected_version", ""))
    except ValueError:
        expected = None
    try:
        require_may_act_on_cases(account)
        fire(
            rt,
            case_no,
            action,
            account.actor_for(transition.roles if transition else ()),
            fields=fields,
            expected_version=expected,
            comment=form.get("comment") or None,
            public_note=form.get("public_note") or None,
        )
    except GkflowError as exc:
        context = _case_context(rt, session, case_no)
        context.update(
            message=_plain_failure(exc, context["view"]),
            message_kind="alert",
            form_values={"action": action, **fields, "comment": form.get("comment", ""),
                         "public_note": form.get("public_note", "")},
        )
        return render(request, "case.html", context, status_code=http_status(exc), session=session)
    return RedirectResponse(
        f"/staff/cases/{quote(case_no, safe='')}?done={quote(action, safe='')}", status_code=303
    )


def _plain_failure(exc: GkflowError, view: CaseView) -> str:
    if isinstance(exc, Conflict) or exc.code == "transition_not_allowed":
        return (
            f"操作未执行：他人已先行办理此件，办件现为“{view.state_label}”（第{view.version}版）。"
            f"请查看下方最新办理记录后再操作。（{exc.message}）"
        )
    if isinstance(exc, InvalidInput):
        return f"请补全必填项：{exc.message}"
    if isinstance(exc, Forbidden):
        return f"无权办理：{exc.message}"
    return exc.message


# -- window registration and the acknowledgement --------------------------------------------------


def _department_items(rt: Runtime, account: Account) -> list[ItemVersion]:
    """The latest version of each item of the account's department (every item for administrators)."""
    catalogue = rt.catalogue
    items = [catalogue.latest(code) for code in catalogue.codes()]
    department = department_filter(account)
    return [i for i in items if department is None or i.department == department]


@router.get("/register", response_class=HTMLResponse)
def register_form(
    request: Request, rt: RuntimeDep, session: StaffSession, item: str = Query(default="", max_length=100)
) -> Response:
    registering_role(session.account)
    items = _department_items(rt, session.account)
    chosen = next((i for i in items if i.code == item), None)
    return render(
        request,
        "register.html",
        {"items": items, "chosen": chosen, "error": None, "values": {}},
        session=session,
    )


@router.post("/register", response_class=HTMLResponse)
def register(request: Request, rt: RuntimeDep, session: StaffSession, form: FormData) -> Response:
    role = registering_role(session.account)
    check_csrf(request, form, session)
    items = _department_items(rt, session.account)
    chosen = next((i for i in items if i.code == form.get("item")), None)
    if chosen is None:
        raise NotFound(f"事项 {form.get('item', '')} 不在本部门事项中")
    fields = {k[2:]: v for k, v in form.items() if k.startswith("f_") and v.strip()}
    account = session.account
    try:
        submitted = submit_case(
            rt,
            chosen.code,
            Applicant(
                form.get("name", ""),
                form.get("phone") or None,
                form.get("id_number") or None,
                form.get("email") or None,
            ),
            intake_channel="window",
            fields=fields,
            actor=Actor(account.username, role, account.department),
        )
    except GkflowError as exc:
        return render(
            request,
            "register.html",
            {"items": items, "chosen": chosen, "error": exc.message, "values": form},
            status_code=http_status(exc),
            session=session,
        )
    view = show_case(rt, submitted.case_no)
    base = rt.settings.public_base_url.rstrip("/")
    status_url = f"{base}/status/{submitted.case_no}"
    # The QR carries only the status URL: the code is printed beside it, never put in a URL or a log.
    qr = Markup(segno.make(status_url, error="m").svg_inline(scale=4, title="办件查询二维码"))  # noqa: S704
    received = [m.name for i, m in enumerate(chosen.materials) if form.get(f"material_{i}")]
    return render(
        request,
        "acknowledgement.html",
        {
            "view": view,
            "item": chosen,
            "query_code": submitted.query_code,
            "status_url": status_url,
            "qr_svg": qr,
            "applicant_name": mask_name(form.get("name", "")),
            "received_materials": received,
            "clerk": account.display_name,
        },
        session=session,
    )


# -- rectifications of the department -------------------------------------------------------------


@router.get("/rectifications", response_class=HTMLResponse)
def rectifications_page(request: Request, rt: RuntimeDep, session: StaffSession) -> Response:
    rows = rectifications(rt, status=None, department=department_filter(session.account), limit=500)
    return render(request, "rectifications.html", {"rows": rows}, session=session)


@router.post("/rectifications/{rectification_id}/close")
def close_rectification_form(
    request: Request, rt: RuntimeDep, session: StaffSession, rectification_id: RowId, form: FormData
) -> Response:
    check_csrf(request, form, session)
    account = session.account
    close_rectification(
        rt,
        rectification_id,
        user=account.username,
        department=account.department,
        is_admin=account.is_admin,
        resolution=form.get("resolution", ""),
    )
    return RedirectResponse(_safe_next(form.get("next") or "/staff/rectifications"), status_code=303)
