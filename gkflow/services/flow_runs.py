"""Flow runs as the administrator sees them: the embedded scheduler's recorded runs and, when
PREFECT_API_URL names a Prefect server, that server's recent flow runs with a link into its UI."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import delete, select

from gkflow.db.engine import write_connection
from gkflow.db.models import SchedulerRunRow, table_of
from gkflow.runtime import Runtime

runs_t = table_of(SchedulerRunRow)
PREFECT_TIMEOUT_S = 2.0
KEEP_RUNS = 2000
JOB_LABELS = {
    "maintenance:dispatch": "通知投递", "maintenance:sweep": "红黄牌预警扫描",
    "maintenance:milestones": "节点触发发布",
}
STATE_LABELS = {"completed": "完成", "failed": "失败", "COMPLETED": "完成", "FAILED": "失败",
                "CRASHED": "崩溃", "RUNNING": "运行中", "SCHEDULED": "已排期", "PENDING": "等待中",
                "CANCELLED": "已取消", "LATE": "延迟"}


def job_label(job_id: str) -> str:
    """A job in words: 主动公开 fiscal-monthly, 通知投递 …"""
    if job_id.startswith("publish:"):
        return "主动公开 " + job_id.split(":", 1)[1]
    return JOB_LABELS.get(job_id, job_id)


def record_scheduler_run(
    rt: Runtime, *, job_id: str, scheduled_at: datetime | None, started_at: datetime,
    finished_at: datetime, failed: bool, summary: str | None,
) -> None:
    """Keep one run of the embedded scheduler (and only the newest few thousand)."""
    with write_connection(rt.engine) as conn, conn.begin():
        new_id = conn.execute(runs_t.insert().values(
            job_id=job_id, scheduled_at=scheduled_at, started_at=started_at, finished_at=finished_at,
            state="failed" if failed else "completed", summary=(summary or "")[:2000] or None,
        ).returning(runs_t.c.id)).scalar_one()
        if new_id % 100 == 0:
            conn.execute(delete(runs_t).where(runs_t.c.id <= new_id - KEEP_RUNS))


def recent_runs(rt: Runtime, *, limit: int = 50) -> list[dict[str, Any]]:
    """The embedded scheduler's newest recorded runs, with their duration in seconds."""
    with rt.engine.connect() as conn:
        rows = conn.execute(select(runs_t).order_by(runs_t.c.started_at.desc(), runs_t.c.id.desc())
                            .limit(limit)).mappings().all()
    return [{**dict(r), "label": job_label(r["job_id"]),
             "state_label": STATE_LABELS.get(r["state"], r["state"]),
             "seconds": (r["finished_at"] - r["started_at"]).total_seconds()} for r in rows]


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def prefect_runs(limit: int = 20) -> dict[str, Any]:
    """Recent flow runs from the Prefect API named by PREFECT_API_URL (short timeout; failure shown)."""
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if not api:
        return {"configured": False, "runs": [], "error": None, "ui": None}
    ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/") or (api[:-4] if api.endswith("/api") else api)
    try:
        response = requests.post(f"{api}/flow_runs/filter", json={"limit": limit, "sort": "START_TIME_DESC"},
                                 timeout=PREFECT_TIMEOUT_S)
        response.raise_for_status()
        data = response.json()
    except Exception as exc:  # noqa: BLE001 - shown on the page as is
        return {"configured": True, "runs": [], "error": f"{type(exc).__name__}: {exc}", "ui": ui}
    runs = []
    for r in data if isinstance(data, list) else []:
        if not isinstance(r, dict):
            continue
        state = (r.get("state") or {}).get("type") or r.get("state_type") or ""
        start, end = _instant(r.get("start_time")), _instant(r.get("end_time"))
        runs.append({
            "id": r.get("id"), "name": r.get("name"),
            "state": state,
            "state_label": STATE_LABELS.get(state, (r.get("state") or {}).get("name") or state),
            "start_time": start, "end_time": end,
            "seconds": (end - start).total_seconds() if start and end else r.get("total_run_time"),
            "url": f"{ui}/runs/flow-run/{r.get('id')}",
        })
    return {"configured": True, "runs": runs, "error": None, "ui": ui}
