"""找回查询码 pages: case number + phone → SMS code → a new query code shown once (the old one stops
working). The first answer is the same whether or not the phone is the case's."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gkflow.domain.errors import GkflowError
from gkflow.services.lookup_pass import issue_pass
from gkflow.services.recovery import confirm_recovery, start_recovery
from gkflow.web.api_door import sms_sandboxed
from gkflow.web.deps import ClientKey, FormData, RuntimeDep, check_csrf
from gkflow.web.errors import http_status
from gkflow.web.public_pages import with_pass
from gkflow.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, *, step: str, case_no: str = "", phone: str = "", error: str | None = None,
          phone_masked: str = "", status_code: int = 200) -> Response:
    return render(request, "recover.html", {
        "step": step, "case_no": case_no, "phone": phone, "error": error, "phone_masked": phone_masked,
        "sandbox": sms_sandboxed(request)}, status_code=status_code)


@router.get("/status/recover", response_class=HTMLResponse)
def recover_form(request: Request) -> Response:
    return _page(request, step="start")


@router.post("/status/recover", response_class=HTMLResponse)
def recover_send(request: Request, rt: RuntimeDep, client: ClientKey, form: FormData) -> Response:
    check_csrf(request, form, None)
    case_no, phone = form.get("case_no", "").strip().upper()[:64], form.get("phone", "").strip()[:32]
    try:
        sent = start_recovery(rt, case_no, phone, client=client)
    except GkflowError as exc:
        if http_status(exc) not in (422, 429):
            raise
        return _page(request, step="start", case_no=case_no, phone=phone, error=exc.message,
                     status_code=http_status(exc))
    return _page(request, step="code", case_no=case_no, phone=phone, phone_masked=sent.phone_masked)


@router.post("/status/recover/confirm", response_class=HTMLResponse)
def recover_confirm(request: Request, rt: RuntimeDep, client: ClientKey, form: FormData) -> Response:
    check_csrf(request, form, None)
    case_no, phone = form.get("case_no", "").strip().upper()[:64], form.get("phone", "").strip()[:32]
    try:
        new_code = confirm_recovery(rt, case_no, phone, form.get("code", "")[:12], client=client)
    except GkflowError as exc:
        if http_status(exc) not in (404, 422, 429):
            raise
        return _page(request, step="code", case_no=case_no, phone=phone, error=exc.message,
                     status_code=http_status(exc))
    response = render(request, "recover.html", {
        "step": "done", "case_no": case_no, "phone": "", "error": None, "phone_masked": "",
        "sandbox": False, "new_code": new_code})
    return with_pass(request, response, case_no, issue_pass(rt, case_no))
