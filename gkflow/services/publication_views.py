"""The publication ledger (公开台账) as the administrator reads it: Chinese statuses, editions
(第N版) as the public site numbers them, failure reasons, links to every published version, and
periods still owed — with a fresh install explained instead of shown as a wall of overdue rows."""

from __future__ import annotations

from typing import Any

from gkflow.domain.errors import GkflowError
from gkflow.publication import ledger
from gkflow.publication.config import load_publication_config
from gkflow.publication.status import publication_status
from gkflow.runtime import Runtime

STATUS_LABELS = {
    ledger.PUBLISHED: "已发布",
    ledger.SUPERSEDED: "已更正（旧版）",
    ledger.FAILED: "发布失败",
    ledger.PUBLISHING: "发布中",
    ledger.DUE: "待发布",
}
TRIGGER_LABELS = {"manual": "手动", "schedule": "定时", "backfill": "补发", "catch-up": "补跑",
                  "milestone": "节点触发"}


def _site_path(task: str, subject: str, period: str) -> str:
    parts = [task, subject, period] if subject else [task, period]
    return "/gk/" + "/".join(parts) + "/"


def ledger_view(rt: Runtime, *, task: str | None = None) -> dict[str, Any]:
    """Recorded publications (newest period first) and the periods still owed; ``available`` is
    False with the reason when the publication configuration cannot be read."""
    try:
        entries = publication_status(rt, task=task)
        titles = {name: t.title for name, t in load_publication_config(rt.settings).tasks.items()}
    except GkflowError as exc:
        return {"available": False, "reason": exc.message, "recorded": [], "owed": [], "fresh": True,
                "titles": {}}
    recorded = [e for e in entries if e["status"] != ledger.DUE]
    published_keys = {(e["task"], e["subject"], e["period"]) for e in recorded
                      if e["status"] in (ledger.PUBLISHED, ledger.SUPERSEDED)}
    editions: dict[tuple[str, str, str], int] = {}
    rows = []
    for e in recorded:  # in version order within a period
        key = (e["task"], e["subject"], e["period"])
        edition = None
        if e["status"] in (ledger.PUBLISHED, ledger.SUPERSEDED):
            editions[key] = edition = editions.get(key, 0) + 1
        rows.append({
            **e,
            "title": titles.get(e["task"], e["task"]),
            "status_label": STATUS_LABELS.get(e["status"], e["status"]),
            "trigger_label": TRIGGER_LABELS.get(e.get("trigger") or "", e.get("trigger") or ""),
            "edition": edition,
            "url": (_site_path(*key) + f"versions/v{e['version']}/") if edition else None,
            "current_url": _site_path(*key) if e["status"] == ledger.PUBLISHED else None,
            # A failure that a later run made good is history, not an open problem.
            "resolved": e["status"] == ledger.FAILED and key in published_keys,
        })
    rows.sort(key=lambda r: (r["period"], r["task"], r["subject"], r["version"] or 0), reverse=True)
    owed = [{**e, "title": titles.get(e["task"], e["task"])} for e in entries if e["status"] == ledger.DUE]
    owed.sort(key=lambda r: (not r["late"], r["due_on"]))
    return {"available": True, "reason": None, "recorded": rows, "owed": owed, "fresh": not recorded,
            "titles": titles, "backfill": backfill_commands(owed)}


def backfill_commands(owed: list[dict[str, Any]]) -> list[str]:
    """The `gkflow publish backfill` command that publishes each task's owed periods."""
    spans: dict[tuple[str, str], list[str]] = {}
    for row in owed:
        spans.setdefault((row["task"], row["subject"]), []).append(row["period"])
    return [
        f"gkflow publish backfill {task} --from {min(periods)} --to {max(periods)}"
        + (f" --project {subject}" if subject else "")
        for (task, subject), periods in sorted(spans.items())
    ]


def punctuality(rt: Runtime) -> dict[str, Any]:
    """Published on time or late, failures not yet made good, periods owed past their due date."""
    view = ledger_view(rt)
    published = [r for r in view["recorded"] if r["status"] == ledger.PUBLISHED]
    on_time = sum(1 for r in published if r["on_time"])
    return {
        "available": view["available"], "reason": view["reason"], "fresh": view["fresh"],
        "published": len(published), "on_time": on_time,
        "on_time_rate": on_time / len(published) if published else None,
        "late_published": sum(1 for r in published if r["on_time"] is False),
        "failed_open": sum(1 for r in view["recorded"] if r["status"] == ledger.FAILED and not r["resolved"]),
        "owed": len(view["owed"]),
        "owed_late": sum(1 for r in view["owed"] if r["late"]),
    }
