"""The administrator's figures on two screens: cases and deadlines, on-time rates by department and
item, satisfaction by month, notices by status, publication punctuality. Each figure has a list
behind it (the worklist, /admin/notices, /admin/publications, /admin/rectifications)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from gkflow.db.case_rows import cases_t
from gkflow.db.models import CaseWarningRow, table_of
from gkflow.db.web_models import RatingRow
from gkflow.delivery.outbox import DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE, outbox_t
from gkflow.runtime import Runtime
from gkflow.services.flow_runs import recent_runs
from gkflow.services.publication_views import punctuality
from gkflow.services.ratings import BAD_LEVELS, rating_summary, rectifications

warnings_t = table_of(CaseWarningRow)
ratings_t = table_of(RatingRow)
FAILED_STATUSES = (DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE)
ON_TIME_WINDOW_DAYS = 365
TREND_MONTHS = 12


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def case_figures(rt: Runtime) -> dict[str, Any]:
    """Open, due within a week, overdue and warned cases; on-time rates (promised and statutory) of
    the cases closed in the last year, overall, by department and by item."""
    today = rt.local_date(rt.now())
    c = cases_t.c
    with rt.engine.connect() as conn:
        def count(*conditions: Any) -> int:
            query = select(func.count()).select_from(cases_t).where(*conditions)
            return int(conn.execute(query).scalar_one())

        open_count = count(c.closed_at.is_(None))
        week_end = today + timedelta(days=7)
        week = count(c.closed_at.is_(None), c.promised_due >= today, c.promised_due < week_end)
        overdue = count(c.closed_at.is_(None), c.promised_due < today)
        warned = int(conn.execute(
            select(func.count(func.distinct(warnings_t.c.case_id)))
            .join(cases_t, c.id == warnings_t.c.case_id).where(c.closed_at.is_(None))
        ).scalar_one())
        since = rt.now() - timedelta(days=ON_TIME_WINDOW_DAYS)
        closed = conn.execution_options(yield_per=5000).execute(
            select(c.closed_at, c.promised_due, c.statutory_due, c.department, c.item_code)
            .where(c.closed_at.is_not(None), c.closed_at >= since)
        )
        groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for closed_at, promised_due, statutory_due, department, item_code in closed:
            on = rt.local_date(closed_at if closed_at.tzinfo else closed_at.replace(tzinfo=UTC))
            for key in (("all", ""), ("department", department), ("item", item_code)):
                g = groups[key]
                g[0] += 1
                if promised_due is not None:
                    g[1] += 1
                    g[2] += on <= promised_due
                if statutory_due is not None:
                    g[3] += 1
                    g[4] += on <= statutory_due
    names = {code: rt.catalogue.latest(code).name for code in rt.catalogue.codes()}

    def row(kind: str, key: str) -> dict[str, Any]:
        total, promised_n, promised_ok, statutory_n, statutory_ok = groups[(kind, key)]
        return {"key": key, "name": names.get(key, key) if kind == "item" else key, "closed": total,
                "promised_rate": _rate(promised_ok, promised_n),
                "statutory_rate": _rate(statutory_ok, statutory_n)}

    return {
        "today": today, "open": open_count, "week": week, "overdue": overdue, "warned": warned,
        "window_days": ON_TIME_WINDOW_DAYS, "on_time": row("all", ""),
        "by_department": sorted((row("department", k) for kind, k in groups if kind == "department"),
                                key=lambda r: -r["closed"]),
        "by_item": sorted((row("item", k) for kind, k in groups if kind == "item"),
                          key=lambda r: -r["closed"]),
    }


def satisfaction_trend(rt: Runtime, months: int = TREND_MONTHS) -> list[dict[str, Any]]:
    """The satisfaction rate of each of the last ``months`` months (None for a month without ratings)."""
    today = rt.local_date(rt.now())
    first = date(today.year, today.month, 1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    start = datetime(first.year, first.month, 1, tzinfo=rt.settings.tz).astimezone(UTC)
    with rt.engine.connect() as conn:
        rows = conn.execute(select(ratings_t.c.rated_at, ratings_t.c.level)
                            .where(ratings_t.c.rated_at >= start)).all()
    totals: dict[str, list[int]] = {}
    month = first
    while month <= today:
        totals[f"{month:%Y-%m}"] = [0, 0]
        month = (month + timedelta(days=32)).replace(day=1)
    for rated_at, level in rows:
        key = f"{rt.local_date(rated_at if rated_at.tzinfo else rated_at.replace(tzinfo=UTC)):%Y-%m}"
        if key in totals:
            totals[key][0] += 1
            totals[key][1] += level in BAD_LEVELS
    return [{"month": key, "total": n, "bad": bad, "rate": _rate(n - bad, n)}
            for key, (n, bad) in totals.items()]


def notice_figures(rt: Runtime) -> dict[str, Any]:
    """Notices (not triggers) by delivery status, and the share that failed for good."""
    with rt.engine.connect() as conn:
        by_status = {
            str(status): int(n)
            for status, n in conn.execute(
                select(outbox_t.c.status, func.count()).where(outbox_t.c.kind == "notice")
                .group_by(outbox_t.c.status)
            )
        }
    total = sum(by_status.values())
    failed = sum(n for status, n in by_status.items() if status in FAILED_STATUSES)
    return {"by_status": by_status, "total": total, "failed": failed, "failure_rate": _rate(failed, total)}


def dashboard(rt: Runtime) -> dict[str, Any]:
    """Every figure of the administrator's dashboard."""
    return {
        "cases": case_figures(rt),
        "ratings": rating_summary(rt),
        "trend": satisfaction_trend(rt),
        "rectifications_open": len(rectifications(rt, status="open", limit=1000)),
        "notices": notice_figures(rt),
        "publications": punctuality(rt),
        "runs": recent_runs(rt, limit=5),
        "generated_at": rt.now(),
    }
