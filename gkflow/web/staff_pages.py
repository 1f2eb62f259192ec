"""Staff pages: login, the case page with its actions, and the department's rectifications (the
worklist is in worklist_pages, window registration and slips in registration_pages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gkflow.domain.access import (
    department_filter,
    may_act,
    require_may_act_on_cases,
    require_may_see_case,
)
from gkflow.domain.errors import Conflict, Forbidden, GkflowError, InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.accounts import authenticate
from gkflow.services.cases import fire
from gkflow.services.lookup_limits import check_login, record_login_failure, record_login_success
from gkflow.services.materials import MATERIALS_ACTION, staff_materials
from gkflow.services.ratings import close_rectification, rectifications
from gkflow.services.read_models import CaseView
from gkflow.services.sessions import Session, close_session, open_session
from gkflow.services.views import show_case
from gkflow.services.window import slip_kind
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
from gkflow.web.registration_pages import SLIP_TITLES
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
    outcome = next((e.fields["outcome"] for e in reversed(view.timeline) if e.fields.get("outcome")), None)
    on_time = None
    if view.final and view.closed_at and view.promised_due:
        on_time = view.closed_at[:10] <= view.promised_due
    return {
        "outcome": outcome,
        "on_time": on_time,
        "slip_title": SLIP_TITLES[slip_kind(item, [e.action for e in view.timeline])],
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
            f"操作未执行：此件已先行办理（他人或您在其他页面），办件现为“{view.state_label}”"
            f"（记录版本 {view.version}）。请查看下方最新办理记录后再操作。"
        )
    if isinstance(exc, InvalidInput):
        return f"请补全必填项：{exc.message}"
    if isinstance(exc, Forbidden):
        return f"无权办理：{exc.message}"
    return exc.message


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
