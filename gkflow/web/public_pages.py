"""Applicant pages (zh-CN, mobile first): the landing page, case status and the rating form."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gkflow.domain.errors import GkflowError, NotFound
from gkflow.domain.items import ClockEffect, ItemVersion
from gkflow.runtime import Runtime
from gkflow.services.corrections import requested_materials, submit_correction_online
from gkflow.services.lookup_limits import guarded_public_case
from gkflow.services.lookup_pass import PASS_LIFETIME, case_with_pass, look_up
from gkflow.services.materials import ACCEPTED_TYPES, Upload, received_materials_of
from gkflow.services.ratings import LEVELS, rate_case, rating_of
from gkflow.services.read_models import PublicCase, TimelineEntry
from gkflow.web.deps import ClientKey, FormData, RuntimeDep, check_csrf
from gkflow.web.errors import error_headers, http_status
from gkflow.web.templating import render
from gkflow.web.uploads import read_form_files

router = APIRouter(include_in_schema=False)

UNIT_WORDS = {"working": "个工作日", "calendar": "个自然日"}
# What a file input offers; the server checks the content anyway.
ACCEPT_ATTRIBUTE = ",".join([*ACCEPTED_TYPES, ".pdf", ".ofd", ".jpg", ".jpeg", ".png"])


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, rt: RuntimeDep) -> Response:
    catalogue = rt.catalogue
    items = [catalogue.latest(code) for code in catalogue.codes()]
    return render(request, "landing.html", {"items": items})


LOOKUP_COOKIE = "gkflow_case"


def pass_cookie_path(case_no: str) -> str:
    return f"/status/{quote(case_no, safe='')}"


def with_pass(request: Request, response: Response, case_no: str, value: str) -> Response:
    """Set the look-up pass of ``case_no`` (HttpOnly, SameSite=Lax, only sent to its status pages)."""
    rt: Runtime = request.app.state.rt
    secure = request.url.scheme == "https" or rt.settings.public_base_url.startswith("https")
    response.set_cookie(LOOKUP_COOKIE, value, max_age=int(PASS_LIFETIME.total_seconds()), httponly=True,
                        samesite="lax", path=pass_cookie_path(case_no), secure=secure)
    return response


@router.get("/status", response_class=HTMLResponse)
def status_form(request: Request, case_no: str = Query(default="", max_length=64)) -> Response:
    return render(request, "status_form.html", {"error": None, "case_no": case_no.strip().upper()})


@router.post("/status", response_class=HTMLResponse)
def status_lookup(request: Request, rt: RuntimeDep, client: ClientKey, form: FormData) -> Response:
    """The look-up by POST: the code travels in the body only, then a pass cookie opens the page."""
    check_csrf(request, form, None)
    case_no = form.get("case_no", "").strip().upper()[:64]
    try:
        view, value = look_up(rt, client=client, case_no=case_no, code=form.get("code", "")[:64])
    except GkflowError as exc:
        if http_status(exc) in (404, 422, 429):
            return _not_found(request, case_no, exc)
        raise
    response = RedirectResponse(pass_cookie_path(view.case_no), status_code=303)
    return with_pass(request, response, view.case_no, value)


def explain_timeline(item: ItemVersion, timeline: list[TimelineEntry]) -> list[dict[str, Any]]:
    """Each step in plain words, with clock stops and extensions spelled out."""
    entries = []
    for entry in timeline:
        transition = item.transitions.get(entry.action)
        notes: list[str] = []
        target = item.states.get(entry.to)
        effect = transition.clock if transition else None
        if effect is ClockEffect.EXTEND:
            days = transition.extend_days if transition else None
            unit = UNIT_WORDS[item.statutory_limit.unit.value]
            notes.append(
                f"经批准延长办理期限{days}{unit}（延期只能一次）。" if days else "经批准延长办理期限。"
            )
        elif effect is ClockEffect.RESTART:
            notes.append("办理时限自此重新起算。")
        elif effect is ClockEffect.RESUME:
            notes.append("办理时限恢复计算，中止期间不计入。")
        if effect is ClockEffect.STOP or (
            target is not None and target.stops_clock and entry.from_state != entry.to
        ):
            notes.append(
                f"进入“{target.label if target else entry.to_label}”，办理时限中止，此期间不计入办理时限。"
            )
        if entry.action == "due_date_recomputed":
            notes.append("国家公布节假日安排后，办理期限已重新计算。")
        field_labels = {f.name: f.label for f in transition.fields} if transition else {}
        if entry.action == "rated":
            shown = [("评价", entry.fields.get("label", ""))]
        else:
            shown = [(field_labels.get(k, k), v) for k, v in entry.fields.items() if k in field_labels]
        entries.append({**entry.model_dump(by_alias=True), "notes": notes, "shown_fields": shown})
    return entries


def next_steps(item: ItemVersion, view: PublicCase) -> list[str]:
    """What the applicant must do now, if anything."""
    if view.final:
        return []
    steps = [t.label for t in item.transitions_from(view.state) if "applicant" in t.roles]
    if not steps:
        return []
    advice = ["请您：" + "；".join(steps) + "。"]
    last = view.timeline[-1] if view.timeline else None
    if last is not None:
        transition = item.transitions.get(last.action)
        labels = {f.name: f.label for f in transition.fields} if transition else {}
        advice += [f"{labels[k]}：{v}" for k, v in last.fields.items() if k in labels]
    return advice


def _status_context(rt: Runtime, view: PublicCase) -> dict[str, Any]:
    item = rt.item(view.item, view.item_version)
    state = item.states[view.state]
    rating = rating_of(rt, view.case_no) if view.final else None
    return {
        "view": view,
        "item": item,
        "state": state,
        "timeline": explain_timeline(item, view.timeline),
        "next_steps": next_steps(item, view),
        "rating": rating,
        "levels": LEVELS,
        "rating_error": None,
        "correction_error": None,
        "statutory_words": _limit_words(view.statutory_limit.days, view.statutory_limit.unit),
        "promised_words": _limit_words(view.promised_limit.days, view.promised_limit.unit),
        "received": received_materials_of(rt, view.case_no),
        "requested": requested_materials(item, view),
        "rated_now": False,
        "corrected_now": False,
        "accept_types": ACCEPT_ATTRIBUTE,
    }


def _limit_words(days: int, unit: str) -> str:
    """15个工作日, 7个自然日, or 即办 for a limit of 0."""
    return "即办" if days == 0 else f"{days}{UNIT_WORDS[unit]}"


def _not_found(request: Request, case_no: str, exc: GkflowError) -> Response:
    response = render(
        request,
        "status_form.html",
        {"error": exc.message, "case_no": case_no},
        status_code=http_status(exc),
    )
    response.headers.update(error_headers(exc))
    return response


@router.get("/status/{case_no}", response_class=HTMLResponse)
async def status_page(
    request: Request, rt: RuntimeDep, client: ClientKey, case_no: str,
    code: str = Query(default="", max_length=64),
) -> Response:
    # async for the same reason as the status API (gkflow.web.api.lookup): short reads, no hand-off.
    case_no = case_no.strip().upper()
    if code:  # an old link with ?code=: check it once, then move the code out of the address bar
        try:
            view, value = look_up(rt, client=client, case_no=case_no, code=code)
        except GkflowError as exc:
            if http_status(exc) in (404, 429):
                return _not_found(request, case_no, exc)
            raise
        return with_pass(request, RedirectResponse(pass_cookie_path(view.case_no), status_code=303),
                         view.case_no, value)
    header_code = request.headers.get("x-query-code", "")[:64]
    try:
        if header_code:  # a client that sends the code in a header, as the API takes it
            view = guarded_public_case(rt, client=client, case_no=case_no, code=header_code)
        else:
            view = case_with_pass(rt, case_no, request.cookies.get(LOOKUP_COOKIE))
    except GkflowError as exc:
        if http_status(exc) == 429 or header_code:
            return _not_found(request, case_no, exc)
        return render(request, "status_form.html", {"error": None, "case_no": case_no})
    context = _status_context(rt, view)
    context["rated_now"] = request.query_params.get("rated") == "1"
    context["corrected_now"] = request.query_params.get("corrected") == "1"
    return render(request, "status.html", context)


@router.post("/status/{case_no}/rating", response_class=HTMLResponse)
def rating_form(request: Request, rt: RuntimeDep, case_no: str, form: FormData) -> Response:
    check_csrf(request, form, None)
    case_no = case_no.strip().upper()
    try:
        view = case_with_pass(rt, case_no, request.cookies.get(LOOKUP_COOKIE))
    except NotFound as exc:
        return _not_found(request, case_no, exc)
    try:
        level = int(form.get("level", ""))
    except ValueError:
        level = 0
    try:
        rate_case(rt, case_no, None, level, form.get("comment"))
    except GkflowError as exc:
        context = _status_context(rt, view)
        context.update(rating_error=_zh_rating_error(exc))
        return render(request, "status.html", context, status_code=http_status(exc))
    return RedirectResponse(f"{pass_cookie_path(case_no)}?rated=1", status_code=303)


@router.post("/status/{case_no}/correction", response_class=HTMLResponse)
async def correction_form(request: Request, rt: RuntimeDep, case_no: str) -> Response:
    """The applicant uploads the materials staff asked to correct (补正), without a trip."""
    case_no = case_no.strip().upper()
    texts, files = await read_form_files(request)
    check_csrf(request, texts, None)
    try:
        view = await run_in_threadpool(case_with_pass, rt, case_no, request.cookies.get(LOOKUP_COOKIE))
    except NotFound as exc:
        return _not_found(request, case_no, exc)
    item = rt.item(view.item, view.item_version)
    wanted = requested_materials(item, view)
    uploads = [Upload(wanted[int(key[9:])], name, data) for key, name, data in files
               if key.startswith("material_") and key[9:].isdigit() and int(key[9:]) < len(wanted)]
    try:
        await run_in_threadpool(submit_correction_online, rt, view, uploads)
    except GkflowError as exc:
        context = _status_context(rt, view)
        context.update(correction_error=exc.message)
        return render(request, "status.html", context, status_code=http_status(exc))
    return RedirectResponse(f"{pass_cookie_path(case_no)}?corrected=1", status_code=303)


def _zh_rating_error(exc: GkflowError) -> str:
    if exc.code == "invalid_input":
        return "请选择评价等级（非常满意至非常不满意），评价内容不超过500字。"
    return exc.message
