"""The JSON API under /api (DESIGN.md section 6): public look-up, submission, rating; staff actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from gkflow.auth import Account
from gkflow.domain.errors import Forbidden, InvalidInput, NotFound
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, cases_t, fire, submit_case
from gkflow.services.ratings import rate_case
from gkflow.services.views import public_case, show_case
from gkflow.web.common import (
    api_account,
    check_lookup_allowed,
    client_key,
    may_see_case,
    record_lookup_failure,
    rt_of,
)
from gkflow.web.worklist import worklist

router = APIRouter(prefix="/api")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {"application/json": {"example": {"error": {"code": name, "message": "…"}}}},
    }
    for code, text, name in (
        (401, "no or unknown bearer token", "forbidden"),
        (403, "role or department may not act", "forbidden"),
        (404, "no such case (or wrong query code)", "not_found"),
        (409, "wrong state or stale version", "conflict"),
        (422, "a bad field, named in the message", "invalid_input"),
        (429, "too many failed look-ups", "rate_limited"),
    )
}


class CaseSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    fields: dict[str, str] | None = None


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(default=None, ge=1)
    fields: dict[str, str] | None = None
    comment: str | None = Field(default=None, max_length=2000)


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, description="the case's query code (查询码)")
    level: int = Field(ge=1, le=5, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    comment: str | None = Field(default=None, max_length=500)


def guarded_public_case(request: Request, case_no: str, code: str) -> dict[str, Any]:
    """The public view, with failures counted per client so numbers and codes cannot be probed."""
    rt = rt_of(request)
    client = client_key(request)
    check_lookup_allowed(rt, client)
    try:
        return public_case(rt, case_no, code)
    except NotFound:
        record_lookup_failure(rt, client)
        raise


def submit_online(rt: Runtime, body: CaseSubmission) -> dict[str, Any]:
    item = rt.item_in_force(body.item, rt.local_date(rt.now()))
    if item.channels and "online" not in item.channels:
        raise InvalidInput(
            f"item '{item.code}' cannot be applied for online; channels: {', '.join(item.channels)}",
            fields=["item"],
        )
    submitted = submit_case(
        rt,
        body.item,
        Applicant(body.name, body.phone, body.id_number, body.email),
        intake_channel="online",
        fields=body.fields,
    )
    view = public_case(rt, submitted.case_no, submitted.query_code)
    view["query_code"] = submitted.query_code
    return view


def staff_actor_check(account: Account) -> None:
    if not account.is_admin and not account.department:
        raise Forbidden(f"account '{account.username}' has no department and may not act on cases")


@router.get("/items")
def list_items(request: Request) -> list[dict[str, Any]]:
    from gkflow.cli import item_summary

    catalogue = rt_of(request).catalogue
    return [item_summary(catalogue.latest(code)) for code in catalogue.codes()]


@router.get("/items/{code}", responses=ERROR_RESPONSES)
def get_item(request: Request, code: str) -> dict[str, Any]:
    from gkflow.cli import item_detail

    return item_detail(rt_of(request).catalogue.latest(code))


@router.post("/cases", status_code=201, responses=ERROR_RESPONSES)
def submit(request: Request, body: CaseSubmission) -> dict[str, Any]:
    """Online submission: the case object with its query code (shown this once)."""
    return submit_online(rt_of(request), body)


@router.get("/cases/{case_no}", responses=ERROR_RESPONSES)
async def lookup(
    request: Request, case_no: str, code: str = Query(default="", max_length=64)
) -> dict[str, Any]:
    """Public, masked status and timeline; a wrong number or code answers the same 404."""
    # Deliberately async: a look-up is two indexed reads (< 1 ms); running it on the event loop avoids
    # the thread-pool hand-off whose GIL switching tripled the p99 under load (bench/bench_web.py).
    return guarded_public_case(request, case_no, code)


@router.post("/cases/{case_no}/rating", status_code=201, responses=ERROR_RESPONSES)
def rate(request: Request, case_no: str, body: RatingRequest) -> dict[str, Any]:
    """好差评, once per completed case; a bad rating opens a rectification."""
    rt = rt_of(request)
    client = client_key(request)
    check_lookup_allowed(rt, client)
    try:
        rated = rate_case(rt, case_no, body.code, body.level, body.comment)
    except NotFound:
        record_lookup_failure(rt, client)
        raise
    return {
        "case_no": rated.case_no,
        "level": rated.level,
        "label": rated.label,
        "bad": rated.bad,
        "rectification_due": rated.rectification_due.isoformat() if rated.rectification_due else None,
    }


@router.get("/staff/cases", responses=ERROR_RESPONSES)
def staff_worklist(
    request: Request,
    item: str | None = Query(default=None, max_length=100),
    state: str | None = Query(default=None, max_length=100),
    sort: str = Query(default="due", pattern="^(due|received|case_no|state|item)$"),
) -> list[dict[str, Any]]:
    """The open cases of the caller's department (all departments for an administrator)."""
    account = api_account(request)
    staff_actor_check(account)
    rows = worklist(rt_of(request), account, item=item, state=state, sort=sort)
    return [{k: v for k, v in r.items() if k != "row"} for r in rows]


@router.get("/staff/cases/{case_no}", responses=ERROR_RESPONSES)
def staff_case(request: Request, case_no: str) -> dict[str, Any]:
    account = api_account(request)
    view = show_case(rt_of(request), case_no)
    if not may_see_case(account, view["department"], view["assigned_department"]):
        raise Forbidden(f"case {case_no} belongs to {view['department']}")
    return view


@router.post("/cases/{case_no}/actions/{action}", responses=ERROR_RESPONSES)
def act(request: Request, case_no: str, action: str, body: ActionRequest) -> dict[str, Any]:
    """Fire one transition as the token's user: 403 role/department, 409 state/version, 422 fields."""
    rt = rt_of(request)
    account = api_account(request)
    staff_actor_check(account)
    actor = actor_for_case(rt, account, case_no, action)
    fire(
        rt,
        case_no,
        action,
        actor,
        fields=body.fields,
        expected_version=body.expected_version,
        comment=body.comment,
    )
    return show_case(rt, case_no)


def actor_for_case(rt: Runtime, account: Account, case_no: str, action: str) -> Any:
    """Pick the user's role that the transition allows (the engine then checks role and department)."""
    with rt.engine.connect() as conn:
        row = conn.execute(
            select(cases_t.c.item_code, cases_t.c.item_version).where(cases_t.c.case_no == case_no)
        ).first()
    if row is None:
        raise NotFound(f"case {case_no} not found")
    transition = rt.item(row.item_code, row.item_version).transitions.get(action)
    return account.actor_for(transition.roles if transition else ())
