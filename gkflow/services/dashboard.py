"""The administrator's figures: cases, deadlines, satisfaction, deliveries, publications, flow runs."""

from __future__ import annotations

import os
from datetime import UTC, timedelta
from typing import Any

import requests
from sqlalchemy import func, select

from gkflow.db.case_rows import cases_t
from gkflow.db.models import CaseWarningRow, table_of
from gkflow.delivery.outbox import DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE, outbox_t
from gkflow.publication.status import publication_status
from gkflow.runtime import Runtime
from gkflow.services.ratings import rating_summary, rectifications
from notifications.channels.sandbox import read_inbox

warnings_t = table_of(CaseWarningRow)
DEAD_STATUSES = (DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE)
ON_TIME_WINDOW_DAYS = 365
PREFECT_TIMEOUT_S = 2.0


def case_figures(rt: Runtime) -> dict[str, Any]:
    """Cases by item and state, overdue and warned cases, the on-time rate over a year."""
    today = rt.local_date(rt.now())
    with rt.engine.connect() as conn:
        by_item_state = conn.execute(
            select(cases_t.c.item_code, cases_t.c.state, func.count())
            .group_by(cases_t.c.item_code, cases_t.c.state)
            .order_by(cases_t.c.item_code, cases_t.c.state)
        ).all()
        overdue_where = (cases_t.c.closed_at.is_(None), cases_t.c.promised_due < today)
        overdue_count = conn.execute(
            select(func.count()).select_from(cases_t).where(*overdue_where)
        ).scalar_one()
        overdue = (
            conn.execute(
                select(
                    cases_t.c.case_no,
                    cases_t.c.item_code,
                    cases_t.c.item_version,
                    cases_t.c.department,
                    cases_t.c.state,
                    cases_t.c.promised_due,
                    cases_t.c.statutory_due,
                )
                .where(*overdue_where)
                .order_by(cases_t.c.promised_due)
                .limit(20)
            )
            .mappings()
            .all()
        )
        warned = (
            conn.execute(
                select(
                    cases_t.c.case_no,
                    cases_t.c.item_code,
                    cases_t.c.department,
                    warnings_t.c.scope,
                    warnings_t.c.level,
                    warnings_t.c.due_on,
                    warnings_t.c.raised_at,
                )
                .join(cases_t, cases_t.c.id == warnings_t.c.case_id)
                .where(cases_t.c.closed_at.is_(None))
                .order_by(warnings_t.c.raised_at.desc())
                .limit(20)
            )
            .mappings()
            .all()
        )
        warned_count = conn.execute(
            select(func.count(func.distinct(warnings_t.c.case_id)))
            .join(cases_t, cases_t.c.id == warnings_t.c.case_id)
            .where(cases_t.c.closed_at.is_(None))
        ).scalar_one()
        since = rt.now() - timedelta(days=ON_TIME_WINDOW_DAYS)
        closed = conn.execution_options(yield_per=5000).execute(
            select(cases_t.c.closed_at, cases_t.c.promised_due).where(
                cases_t.c.closed_at.is_not(None),
                cases_t.c.closed_at >= since,
                cases_t.c.promised_due.is_not(None),
            )
        )
        on_time = total_closed = 0
        for closed_at, promised_due in closed:
            total_closed += 1
            if (
                rt.local_date(closed_at if closed_at.tzinfo else closed_at.replace(tzinfo=UTC))
                <= promised_due
            ):
                on_time += 1
    names = {code: rt.catalogue.latest(code).name for code in rt.catalogue.codes()}
    per_item: dict[str, int] = {}
    per_state: list[dict[str, Any]] = []
    for code, state, count in by_item_state:
        per_item[code] = per_item.get(code, 0) + count
        label = state
        if code in names:
            states = rt.catalogue.latest(code).states
            label = states[state].label if state in states else state
        per_state.append(
            {"item": code, "item_name": names.get(code, code), "state": state, "label": label, "count": count}
        )
    return {
        "today": today,
        "per_item": [{"item": c, "item_name": names.get(c, c), "count": n} for c, n in per_item.items()],
        "per_state": per_state,
        "overdue_count": overdue_count,
        "overdue": [dict(r) for r in overdue],
        "warned_count": warned_count,
        "warned": [dict(r) for r in warned],
        "closed_total": total_closed,
        "closed_on_time": on_time,
        "on_time_rate": on_time / total_closed if total_closed else None,
        "on_time_window_days": ON_TIME_WINDOW_DAYS,
    }


def notice_figures(rt: Runtime, limit: int = 50) -> dict[str, Any]:
    """Outbox rows by kind and status, and the latest dead letters."""
    with rt.engine.connect() as conn:
        by_status = conn.execute(
            select(outbox_t.c.kind, outbox_t.c.status, func.count())
            .group_by(outbox_t.c.kind, outbox_t.c.status)
            .order_by(outbox_t.c.kind, outbox_t.c.status)
        ).all()
        dead = (
            conn.execute(
                select(
                    outbox_t.c.id,
                    outbox_t.c.case_no,
                    outbox_t.c.kind,
                    outbox_t.c.topic,
                    outbox_t.c.channel,
                    outbox_t.c.status,
                    outbox_t.c.attempts,
                    outbox_t.c.last_error,
                    outbox_t.c.updated_at,
                )
                .where(outbox_t.c.status.in_(DEAD_STATUSES))
                .order_by(outbox_t.c.updated_at.desc())
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return {
        "by_status": [{"kind": k, "status": s, "count": n} for k, s, n in by_status],
        "dead": [dict(r) for r in dead],
    }


def sandbox_inbox(rt: Runtime, limit: int = 20) -> dict[str, Any]:
    """What the sandbox channel received (an unreadable inbox is reported, not raised)."""
    try:
        messages = read_inbox(rt.settings.var_dir / "inbox", limit=limit)
    except Exception as exc:  # noqa: BLE001 - a broken inbox must not take the dashboard down
        return {
            "available": False,
            "reason": f"sandbox inbox unreadable: {type(exc).__name__}: {exc}",
            "messages": [],
        }
    return {"available": True, "reason": None, "messages": messages}


def publication_ledger(rt: Runtime, limit: int = 40) -> dict[str, Any]:
    """The publication ledger (公开台账: due, late, published, failed); a broken publication
    configuration is shown on the dashboard instead of taking it down."""
    try:
        entries = publication_status(rt)
    except Exception as exc:  # noqa: BLE001 - shown on the page: the rest of the dashboard still matters
        return {
            "available": False,
            "reason": f"publication ledger unreadable: {type(exc).__name__}: {exc}",
            "rows": [],
            "summary": {},
        }
    summary: dict[str, int] = {}
    for entry in entries:
        summary[entry["status"]] = summary.get(entry["status"], 0) + 1
    summary["late"] = sum(1 for e in entries if e.get("late"))
    rows = sorted(entries, key=lambda e: (not e.get("late"), str(e.get("due_on"))), reverse=False)[:limit]
    columns = ["task", "subject", "period", "formed_on", "due_on", "status", "published_at"]
    return {"available": True, "reason": None, "rows": rows, "summary": summary, "columns": columns}


def prefect_runs(limit: int = 10) -> dict[str, Any]:
    """Recent flow runs from the Prefect API named by PREFECT_API_URL (short timeout; failure shown)."""
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if not api:
        return {"configured": False, "runs": [], "error": None, "ui": None}

    ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/") or (api[:-4] if api.endswith("/api") else api)
    try:
        response = requests.post(
            f"{api}/flow_runs/filter",
            json={"limit": limit, "sort": "START_TIME_DESC"},
            timeout=PREFECT_TIMEOUT_S,
        )
        response.raise_for_status()
        data = response.json()
    except Exception as exc:  # noqa: BLE001 - shown on the page as is
        return {"configured": True, "runs": [], "error": f"{type(exc).__name__}: {exc}", "ui": ui}
    runs = [
        {
            "id": r.get("id"),
            "name": r.get("name"),
            "state": (r.get("state") or {}).get("name") or r.get("state_name"),
            "start_time": r.get("start_time"),
            "end_time": r.get("end_time"),
            "url": f"{ui}/runs/flow-run/{r.get('id')}",
        }
        for r in data
        if isinstance(r, dict)
    ]
    return {"configured": True, "runs": runs, "error": None, "ui": ui}


def dashboard(rt: Runtime) -> dict[str, Any]:
    """Every figure of the administrator's dashboard."""
    return {
        "cases": case_figures(rt),
        "ratings": rating_summary(rt),
        "rectifications": rectifications(rt, status="open", limit=50),
        "notices": notice_figures(rt),
        "inbox": sandbox_inbox(rt),
        "publications": publication_ledger(rt),
        "prefect": prefect_runs(),
        "generated_at": rt.now(),
    }
