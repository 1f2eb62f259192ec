"""办事指南 and the online application (网上申请): guide pages, then form → check your answers →
SMS code → confirmation with case number and query code (printable). No JavaScript."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gkflow.domain.errors import GkflowError, NotFound
from gkflow.domain.masking import mask_phone
from gkflow.services.cases import Applicant
from gkflow.services.drafts import create_draft, load_draft, online_item, submit_draft
from gkflow.services.guide import CHANNEL_LABELS, guide_steps, item_for_guide, items_in_force, limit_words
from gkflow.services.lookup_pass import PASS_LIFETIME, issue_pass
from gkflow.services.materials import Upload
from gkflow.services.phone_codes import request_code
from gkflow.services.signing import sign, unsign
from gkflow.services.views import load_case_row, public_case
from gkflow.web.api_door import sms_sandboxed
from gkflow.web.deps import ClientKey, FormData, RuntimeDep, check_csrf
from gkflow.web.errors import http_status
from gkflow.web.public_pages import ACCEPT_ATTRIBUTE, with_pass
from gkflow.web.templating import render, set_cookie
from gkflow.web.uploads import read_form_files

router = APIRouter(include_in_schema=False)
RECEIPT_COOKIE = "gkflow_receipt"


@router.get("/items", response_class=HTMLResponse)
def guide_list(request: Request, rt: RuntimeDep) -> Response:
    return render(request, "guide_list.html", {"items": items_in_force(rt), "limit_words": limit_words})


@router.get("/items/{code}", response_class=HTMLResponse)
def guide(request: Request, rt: RuntimeDep, code: str) -> Response:
    item = item_for_guide(rt, code)
    return render(request, "guide.html", {
        "item": item, "steps": guide_steps(item), "limit_words": limit_words,
        "channels": [CHANNEL_LABELS.get(c, c) for c in item.channels], "hotline": rt.settings.hotline,
    })


def _form_page(request: Request, rt: RuntimeDep, code: str, *, error: str | None = None,
               values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    item = online_item(rt, code)
    return render(request, "apply_form.html", {
        "item": item, "error": error, "values": values or {}, "limit_words": limit_words,
        "accept_types": ACCEPT_ATTRIBUTE}, status_code=status_code)


@router.get("/apply/{code}", response_class=HTMLResponse)
def apply_form(request: Request, rt: RuntimeDep, code: str) -> Response:
    return _form_page(request, rt, code)


@router.post("/apply/{code}", response_class=HTMLResponse)
async def apply_submit_form(request: Request, rt: RuntimeDep, client: ClientKey, code: str) -> Response:
    """Check the form and its files; a draft to check (303), or the form again with the problem."""
    texts, files = await read_form_files(request)
    check_csrf(request, texts, None)
    item = online_item(rt, code)
    names = list(item.material_names)
    uploads = [Upload(names[int(key[9:])], filename, data) for key, filename, data in files
               if key.startswith("material_") and key[9:].isdigit() and int(key[9:]) < len(names)]
    fields = {key[2:]: value for key, value in texts.items() if key.startswith("f_")}
    applicant = Applicant(texts.get("name", ""), texts.get("phone") or None, texts.get("id_number") or None,
                          texts.get("email") or None)
    try:
        token = await run_in_threadpool(create_draft, rt, code, applicant, fields, uploads, client=client)
    except GkflowError as exc:
        if http_status(exc) not in (413, 422, 429):
            raise
        return _form_page(request, rt, code, error=exc.message, values=texts, status_code=http_status(exc))
    return RedirectResponse(f"/apply/{quote(code, safe='')}/check/{token}", status_code=303)


def _check_page(request: Request, rt: RuntimeDep, token: str, *, code_sent: bool = False,
                error: str | None = None, status_code: int = 200) -> Response:
    draft = load_draft(rt, token)
    return render(request, "apply_check.html", {
        "draft": draft, "token": token, "code_sent": code_sent, "error": error,
        "sandbox": sms_sandboxed(request), "phone_masked": mask_phone(draft.applicant.phone),
    }, status_code=status_code)


@router.get("/apply/{code}/check/{token}", response_class=HTMLResponse)
def apply_check(request: Request, rt: RuntimeDep, code: str, token: str) -> Response:
    try:
        return _check_page(request, rt, token, code_sent=request.query_params.get("sent") == "1")
    except NotFound as exc:
        return _form_page(request, rt, code, error=exc.message, status_code=404)


@router.post("/apply/{code}/check/{token}/code", response_class=HTMLResponse)
def apply_send_code(request: Request, rt: RuntimeDep, client: ClientKey, code: str, token: str,
                    form: FormData) -> Response:
    check_csrf(request, form, None)
    draft = load_draft(rt, token)
    try:
        request_code(rt, draft.applicant.phone or "", client=client)
    except GkflowError as exc:
        if http_status(exc) not in (422, 429):
            raise
        return _check_page(request, rt, token, error=exc.message, status_code=http_status(exc))
    return RedirectResponse(f"/apply/{quote(code, safe='')}/check/{token}?sent=1#verify", status_code=303)


@router.post("/apply/{code}/check/{token}/submit", response_class=HTMLResponse)
def apply_confirm(request: Request, rt: RuntimeDep, client: ClientKey, code: str, token: str,
                  form: FormData) -> Response:
    check_csrf(request, form, None)
    try:
        submitted = submit_draft(rt, token, form.get("code", ""), client=client)
    except GkflowError as exc:
        if http_status(exc) not in (401, 413, 422, 429):
            raise
        return _check_page(request, rt, token, code_sent=True, error=exc.message,
                           status_code=http_status(exc))
    response = RedirectResponse(f"/apply/done/{quote(submitted.case_no, safe='')}", status_code=303)
    # The code is shown on the confirmation page only: it travels in a signed short-lived cookie.
    receipt = sign(rt, "receipt", f"{submitted.case_no}|{submitted.query_code}")
    set_cookie(request, response, RECEIPT_COOKIE, receipt, max_age=int(PASS_LIFETIME.total_seconds()))
    return with_pass(request, response, submitted.case_no, issue_pass(rt, submitted.case_no))


@router.get("/apply/done/{case_no}", response_class=HTMLResponse)
def apply_done(request: Request, rt: RuntimeDep, case_no: str) -> Response:
    text = unsign(rt, "receipt", request.cookies.get(RECEIPT_COOKIE, ""))
    number, _, query_code = (text or "").partition("|")
    if number != case_no or not query_code:
        raise NotFound("确认页面已过期；请凭办件编号和查询码查询，或凭手机号码找回查询码")
    try:
        view = public_case(rt, case_no, query_code)
    except NotFound:
        raise NotFound("确认页面已过期；请凭办件编号和查询码查询，或凭手机号码找回查询码") from None
    base = rt.settings.public_base_url.rstrip("/")
    return render(request, "apply_done.html", {
        "view": view, "query_code": query_code, "status_url": f"{base}/status/{case_no}",
        "has_email": bool(load_case_row(rt, case_no).get("applicant_email")),
    })
