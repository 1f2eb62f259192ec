"""The staff worklist (/staff): search, filters, tabs with counts, keyset pages."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from gkflow.domain.access import department_filter, is_admin, may_register
from gkflow.domain.errors import InvalidInput
from gkflow.domain.items import ItemVersion
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account
from gkflow.services.case_search import search_cases
from gkflow.web.deps import RuntimeDep, StaffSession
from gkflow.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)

TAB_LABELS = (
    ("open", "未办结"),
    ("week", "7日内到期"),
    ("overdue", "已超期"),
    ("completed", "已办结"),
    ("all", "全部"),
)
FILTER_KEYS = ("q", "item", "state", "department", "from", "to", "warned")


def department_items(rt: Runtime, account: Account) -> list[ItemVersion]:
    """The latest version of each item of the account's department (every item for administrators)."""
    catalogue = rt.catalogue
    items = [catalogue.latest(code) for code in catalogue.codes()]
    department = department_filter(account)
    return [i for i in items if department is None or i.department == department]


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}：日期格式应为 年-月-日（如 2026-03-02）", fields=[name]) from None


@router.get("", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    rt: RuntimeDep,
    session: StaffSession,
    q: str = Query(default="", max_length=100),
    tab: str = Query(default="", pattern="^(|open|week|overdue|completed|all)$"),
    item: str = Query(default="", max_length=100),
    state: str = Query(default="", max_length=100),
    department: str = Query(default="", max_length=100),
    from_: str = Query(default="", alias="from", max_length=10),
    to: str = Query(default="", max_length=10),
    warned: str = Query(default="", max_length=1),
    cursor: str = Query(default="", max_length=300),
) -> Response:
    account = session.account
    page = search_cases(
        rt, account, q=q, tab=tab or None, item=item, state=state,
        department=department if is_admin(account) else None,
        received_from=_date(from_, "from"), received_to=_date(to, "to"), warned=warned == "1",
        cursor=cursor or None,
    )
    chosen = tab or ("all" if q.strip() else "open")
    params = {"q": q, "item": item, "state": state, "department": department, "from": from_, "to": to,
              "warned": warned}
    items = department_items(rt, account)
    states: list[tuple[str, str]] = []
    for it in items if not item else [i for i in items if i.code == item]:
        states += [(s.name, s.label) for s in it.states.values() if (s.name, s.label) not in states]
    departments = sorted({i.department for i in items}) if is_admin(account) else []
    return render(
        request,
        "worklist.html",
        {
            "page": page,
            "tab": chosen,
            "tabs": [(key, label, getattr(page.counts, key), _url({**params, "tab": key}))
                     for key, label in TAB_LABELS],
            "next_url": _url({**params, "tab": chosen, "cursor": page.next_cursor})
            if page.next_cursor else None,
            "first_url": _url({**params, "tab": chosen}) if cursor else None,
            "f": params,
            "more_filters": any(params[k] for k in ("item", "state", "department", "from", "to", "warned")),
            "items": items,
            "states": states,
            "departments": departments,
            "may_register": may_register(account),
        },
        session=session,
    )


def _url(params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return "/staff" + (f"?{urlencode(kept)}" if kept else "")
