"""The JSON API under /api (DESIGN.md section 6): public look-up, submission, rating; staff actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gkflow.domain.access import require_may_see_case, require_staff_with_department
from gkflow.domain.errors import NotFound
from gkflow.services.case_search import search_cases
from gkflow.services.cases import Applicant, fire
from gkflow.services.guide import item_for_guide, items_in_force
from gkflow.services.lookup_limits import (
    check_lookup,
    guarded_public_case,
    record_lookup_failure,
    record_lookup_success,
)
from gkflow.services.online import submit_online
from gkflow.services.ratings import rate_case
from gkflow.services.read_models import (
    CasePage,
    CaseView,
    ItemDetail,
    ItemSummary,
    PublicCase,
    PublicSubmission,
)
from gkflow.services.views import case_actor, item_detail, item_summary, show_case
from gkflow.web.deps import ApiAccount, ClientKey, OptionalApiAccount, QueryCode, RuntimeDep

router = APIRouter(prefix="/api")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {"application/json": {"example": {"error": {"code": name, "message": "…"}}}},
    }
    for code, text, name in (
        (401, "no or unknown bearer token; phone_unverified: no live phone verification", "forbidden"),
        (403, "role or department may not act", "forbidden"),
        (404, "no such case (or wrong query code)", "not_found"),
        (409, "wrong state or stale version", "conflict"),
        (413, "a body or file over its limit", "too_large"),
        (422, "a bad field, named in the message", "invalid_input"),
        (429, "too many failed look-ups of this case or from this client; see Retry-After", "rate_limited"),
    )
}


class CaseSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    fields: dict[str, str] | None = Field(default=None, max_length=50,
                                          description="the item's submit_fields (GET /api/items/{code})")


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(default=None, ge=1)
    fields: dict[str, str] | None = None
    comment: str | None = Field(default=None, max_length=2000, description="internal note (内部意见)")
    public_note: str | None = Field(default=None, max_length=2000,
                                    description="note to the applicant (对申请人说明): status and notices")


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, description="the case's query code (查询码)")
    level: int = Field(ge=1, le=5, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    comment: str | None = Field(default=None, max_length=500)


class RatingAnswer(BaseModel):
    case_no: str
    level: int
    label: str = Field(description="非常满意 … 非常不满意")
    bad: bool = Field(description="a bad rating opens a rectification (整改) for the department")
    rectification_due: str | None = Field(description="YYYY-MM-DD, for a bad rating")


@router.get("/items")
def list_items(rt: RuntimeDep) -> list[ItemSummary]:
    """Every item, in the version in force today."""
    return [item_summary(item) for item in items_in_force(rt)]


@router.get("/items/{code}", responses=ERROR_RESPONSES)
def get_item(rt: RuntimeDep, code: str, version: int | None = Query(default=None, ge=1)) -> ItemDetail:
    """One item (the version in force today, or ``version``) with its typed submission fields."""
    return item_detail(item_for_guide(rt, code, version))


# The write endpoints are `async def` and hand their whole blocking work (a transaction, then the
# answer's read) to the thread pool once: as plain `def`s, FastAPI also validated the answer in a
# second hand-off (bench `sustained.postgres`).


@router.post("/cases", status_code=201, responses=ERROR_RESPONSES)
async def submit(
    rt: RuntimeDep, client: ClientKey, account: OptionalApiAccount, body: CaseSubmission,
    verification: str | None = Header(default=None, alias="X-Phone-Verification", max_length=200,
                                      description="the token of POST /api/phone-verifications/confirm"),
) -> PublicSubmission:
    """Online submission: the case object with its query code (shown this once). Anonymous callers
    send ``X-Phone-Verification`` (else 401 ``phone_unverified``); staff and partners a bearer token."""
    applicant = Applicant(body.name, body.phone, body.id_number, body.email)
    return await run_in_threadpool(
        submit_online, rt, body.item, applicant, fields=body.fields, client=client,
        verification_token=verification, account=account,
    )


@router.get("/cases/{case_no}", responses=ERROR_RESPONSES)
async def lookup(rt: RuntimeDep, client: ClientKey, case_no: str, code: QueryCode) -> PublicCase:
    """Public, masked status and timeline with the query code in ``X-Query-Code`` (``?code=`` is still
    read for old links, and never logged); a wrong number or code answers the same 404."""
    # Deliberately async: a look-up is two indexed reads (< 1 ms); running it on the event loop avoids
    # the thread-pool hand-off whose GIL switching tripled the p99 under load (bench/bench_web.py).
    return guarded_public_case(rt, client=client, case_no=case_no, code=code)


@router.post("/cases/{case_no}/rating", status_code=201, responses=ERROR_RESPONSES)
def rate(rt: RuntimeDep, client: ClientKey, case_no: str, body: RatingRequest) -> RatingAnswer:
    """好差评, once per completed case; a bad rating opens a rectification."""
    counted = check_lookup(rt, client=client, case_no=case_no)
    try:
        rated = rate_case(rt, case_no, body.code, body.level, body.comment)
    except NotFound:
        record_lookup_failure(rt, client=client, case_no=case_no)
        raise
    record_lookup_success(rt, case_no=case_no, counted=counted)
    return RatingAnswer(
        case_no=rated.case_no,
        level=rated.level,
        label=rated.label,
        bad=rated.bad,
        rectification_due=rated.rectification_due.isoformat() if rated.rectification_due else None,
    )


@router.get("/staff/cases", responses=ERROR_RESPONSES)
def staff_cases(
    rt: RuntimeDep,
    account: ApiAccount,
    q: str | None = Query(default=None, max_length=100,
                          description="case number (whole or 3+ letters of it), applicant name or part "
                                      "of it, the phone's last four digits; words separated by spaces "
                                      "must all match"),
    tab: str | None = Query(default=None, pattern="^(open|week|overdue|completed|all)$",
                            description="default: open, or all when q is given"),
    item: str | None = Query(default=None, max_length=100),
    state: str | None = Query(default=None, max_length=100),
    department: str | None = Query(default=None, max_length=100,
                                   description="handling department (administrators only)"),
    received_from: date | None = Query(default=None),
    received_to: date | None = Query(default=None),
    warned: bool = Query(default=False, description="only cases with a yellow or red card raised"),
    cursor: str | None = Query(default=None, max_length=300, description="next_cursor of the last page"),
    limit: int = Query(default=50, ge=1, le=200),
) -> CasePage:
    """Search the cases of the caller's department (all departments for an administrator)."""
    require_staff_with_department(account)
    return search_cases(
        rt, account, q=q, tab=tab, item=item, state=state, department=department,
        received_from=received_from, received_to=received_to, warned=warned, cursor=cursor, limit=limit,
    )


@router.get("/staff/cases/{case_no}", responses=ERROR_RESPONSES)
def staff_case(rt: RuntimeDep, account: ApiAccount, case_no: str) -> CaseView:
    """A case of the caller's department with its actions and history."""
    view = show_case(rt, case_no)
    require_may_see_case(account, case_no=case_no, department=view.department,
                         assigned_department=view.assigned_department)
    return view


@router.post("/cases/{case_no}/actions/{action}", responses=ERROR_RESPONSES)
async def act(
    rt: RuntimeDep, account: ApiAccount, case_no: str, action: str, body: ActionRequest
) -> CaseView:
    """Fire one transition as the token's user: 403 role/department, 409 state/version, 422 fields."""
    require_staff_with_department(account)

    def fire_and_show() -> CaseView:
        fire(rt, case_no, action, case_actor(rt, account, case_no, action), fields=body.fields,
             expected_version=body.expected_version, comment=body.comment, public_note=body.public_note)
        return show_case(rt, case_no)

    return await run_in_threadpool(fire_and_show)
