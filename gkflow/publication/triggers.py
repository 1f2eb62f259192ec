"""Milestone triggers: a construction-project case reaching a milestone publishes its progress.

The transition writes a ``construction.milestone`` trigger row to the outbox in its own transaction;
this consumer claims such rows with a lease (gkflow.delivery.outbox), publishes, and records the outcome. A
monthly report filed before its month has closed waits in the outbox until the month end.
"""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime, time, timedelta
from typing import Any

from gkflow.db.case_rows import case_row
from gkflow.delivery import outbox
from gkflow.domain.errors import GkflowError, NotFound
from gkflow.publication.periods import Cadence, parse_period
from gkflow.publication.service import Step, direct, publish_period
from gkflow.runtime import Runtime

MILESTONE_TOPIC = "construction.milestone"
TASK = "construction-progress"
MONTHLY_MARKER = re.compile(r"月度实施信息[（(](\d{4}-\d{2})[)）]")
MAX_ATTEMPTS = 5


def _retry_or_bury(rt: Runtime, message: Any, worker: str, reason: str, *, final: bool) -> None:
    final = final or message.attempts >= MAX_ATTEMPTS
    outbox.mark_failed(
        rt, message.id, worker, status=outbox.DEAD if final else outbox.TEMPORARY_FAILURE,
        error=reason, retry_at=None if final else rt.now() + timedelta(minutes=10 * message.attempts),
    )


def due_milestones(rt: Runtime) -> int:
    return outbox.due_count(rt, kind="trigger", topics=[MILESTONE_TOPIC])


def milestone_rows(rt: Runtime, payload: dict[str, Any]) -> tuple[str, str, list[dict[str, str]]]:
    """(project code, period, the one source row) from a trigger's payload and its case."""
    with rt.engine.connect() as conn:
        case = case_row(conn, payload["case_no"])
    submitted = json.loads(case["fields"] or "{}")
    reported = payload.get("fields") or {}
    milestone = str(reported.get("milestone", "")).strip()
    monthly = MONTHLY_MARKER.search(milestone)
    occurred_on = datetime.strptime(payload["occurred_at"], "%Y-%m-%d %H:%M").date()
    period = monthly[1] if monthly else occurred_on.isoformat()
    project = str(submitted.get("project_code") or case["case_no"]).strip()
    row = {
        "period": period, "project_code": project,
        "project_name": submitted.get("project_name", ""), "building_unit": case["applicant_name"],
        "total_investment": submitted.get("total_investment", ""), "invested_month": "",
        "invested_to_date": reported.get("invested_amount") or "0",
        "progress_pct": reported.get("progress_percent") or "0",
        "milestone": "" if monthly else milestone, "note": reported.get("progress_note", ""),
    }
    return project, period, [row]


def consume_milestones(rt: Runtime, *, limit: int = 20, step: Step = direct, worker: str | None = None,
                       flow_run_id: str | None = None) -> list[dict[str, Any]]:
    worker = worker or f"milestones@{socket.gethostname()}"
    done: list[dict[str, Any]] = []
    for message in outbox.claim(rt, worker=worker, kind="trigger", topics=[MILESTONE_TOPIC], limit=limit):
        try:
            project, period, rows = milestone_rows(rt, message.payload)
            closes = parse_period(Cadence.MONTHLY, period).last_day if len(period) == 7 else None
            if closes is not None and closes > rt.local_date(rt.now()):
                # The month has not closed: publish once it has.
                opens = datetime.combine(closes + timedelta(days=1), time(0, 5), tzinfo=rt.settings.tz)
                outbox.release(rt, message.id, worker, until=opens)
                done.append({"case_no": message.case_no, "status": "waiting", "until": opens.isoformat()})
                continue
            outcome = publish_period(rt, TASK, period, subject=project, rows=rows, trigger="milestone",
                                     flow_run_id=flow_run_id, step=step)
        except (GkflowError, KeyError, ValueError) as exc:
            reason = exc.message if isinstance(exc, GkflowError) else f"{type(exc).__name__}: {exc}"
            _retry_or_bury(rt, message, worker, reason, final=isinstance(exc, NotFound))
            done.append({"case_no": message.case_no, "status": "error", "error": reason})
            continue
        if outcome.status == "failed":
            # Nothing was published (a target was down, or the data was refused): the trigger stays
            # in the outbox and is tried again; the ledger already holds the failed attempt.
            reason = "; ".join(outcome.reasons) or "publication failed"
            _retry_or_bury(rt, message, worker, reason, final=False)
            done.append({"case_no": message.case_no, **outcome.to_dict(rt)})
            continue
        outbox.mark_delivered(rt, message.id, worker,
                              provider_ref=f"{TASK}/{project}/{period}/v{outcome.version}")
        done.append({"case_no": message.case_no, **outcome.to_dict(rt)})
    return done
