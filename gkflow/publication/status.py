"""`gkflow publish status`: every period of every task — due, late, published, failed, superseded."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from gkflow.domain.errors import InvalidConfig, InvalidInput
from gkflow.publication import ledger
from gkflow.publication.config import load_publication_config
from gkflow.publication.periods import due_date, last_formed, periods_between
from gkflow.publication.service import project_spans
from gkflow.publication.tasks import task_spec
from gkflow.runtime import Runtime


def _local_iso(rt: Runtime, at: Any) -> str | None:
    return at.astimezone(rt.settings.tz).isoformat(timespec="seconds") if at else None


def publication_status(rt: Runtime, *, today: date | None = None,
                       task: str | None = None) -> list[dict[str, Any]]:
    today = today or rt.local_date(rt.now())
    config = load_publication_config(rt.settings)
    calendar = rt.calendar
    recorded = ledger.rows(rt, task)
    by_key: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in recorded:
        by_key.setdefault((row["task"], row["subject"], row["period"]), []).append(row)
    entries: list[dict[str, Any]] = []
    for name, task_config in config.tasks.items():
        if task and name != task:
            continue
        spec = task_spec(name)
        try:
            first = spec.parse_period(task_config.first_period)
        except InvalidInput as exc:
            raise InvalidConfig(f"publication.yaml: task {name}: first_period: {exc.message}") from None
        last = last_formed(spec.cadence, today)
        expected = periods_between(first, last) if first <= last else []
        spans: dict[str, tuple[date, date | None]] = {"": (date.min, None)}
        if spec.per_subject:
            spans = project_spans(rt)
        for subject, (started, closed) in sorted(spans.items()):
            for period in expected:
                # A project owes its monthly progress only for months it was running.
                ran = period.last_day >= started and (closed is None or period.first_day <= closed)
                if ran and (name, subject, period.label) not in by_key:
                    due = due_date(period, calendar)
                    entries.append({
                        "task": name, "subject": subject, "period": period.label, "version": None,
                        "status": ledger.DUE, "formed_on": period.last_day.isoformat(),
                        "due_on": due.date.isoformat(), "due_provisional": due.provisional,
                        "published_at": None, "on_time": None, "late": today > due.date,
                        "reasons": [],
                    })
    for row in recorded:
        published_on = ledger.published_on(rt, row["published_at"])
        due_on: date = row["due_on"]
        has_published = any(r["status"] == ledger.PUBLISHED
                            for r in by_key[(row["task"], row["subject"], row["period"])])
        entries.append({
            "task": row["task"], "subject": row["subject"], "period": row["period"],
            "version": row["version"], "status": row["status"], "formed_on": row["formed_on"].isoformat(),
            "due_on": due_on.isoformat(), "due_provisional": bool(row["due_provisional"]),
            "published_at": _local_iso(rt, row["published_at"]),
            "on_time": (published_on <= due_on) if published_on else None,
            # Late: published after the due date, or still not published and past it.
            "late": (published_on > due_on) if published_on else (not has_published and today > due_on),
            "reasons": json.loads(row["reasons"] or "[]"),
            "flow_run_id": row["flow_run_id"], "trigger": row["trigger"],
        })
    entries.sort(key=lambda e: (e["task"], e["subject"], e["period"], e["version"] or 0))
    return entries
