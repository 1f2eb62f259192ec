"""The deadline sweep raises each yellow and red warning exactly once, as history and a staff notice."""

from __future__ import annotations

import json
import threading

from sqlalchemy import select

from gkflow.db.models import CaseWarningRow, OutboxRow
from gkflow.domain.cases import Actor
from gkflow.services.audit import verify_all
from gkflow.services.cases import fire
from gkflow.services.sweep import sweep
from gkflow.services.views import show_case
from tests.helpers import at, submit

DEPARTMENT = "格尔木市人民政府办公室"


def submitted(rt) -> str:
    return submit(rt, received_at=at("2026-03-02", 9), fields={"requested_information": "2025年预算"}).case_no


def raised(rt, day: str) -> list[tuple[str, str, str]]:
    return [(w.scope, w.level, w.limit) for w in sweep(rt, now=at(day, 9))]


def test_step_and_case_warnings_are_raised_once_each_in_order(rt):
    case_no = submitted(rt)
    assert raised(rt, "2026-03-09") == []
    assert raised(rt, "2026-03-10") == [("step", "yellow", "received")]  # 6 of the 7 working days
    assert raised(rt, "2026-03-10") == []
    assert raised(rt, "2026-03-12") == [("step", "red", "received")]
    assert raised(rt, "2026-03-18") == [("case", "yellow", "promised")]  # 12 of the 15 promised days
    assert raised(rt, "2026-03-24") == [("case", "red", "promised")]
    assert raised(rt, "2026-03-25") == [] and raised(rt, "2026-04-30") == []
    view = show_case(rt, case_no)
    warnings = [(t.action, t.fields["scope"]) for t in view.timeline
                if t.action.startswith("warn")]
    assert warnings == [("warning_yellow", "step"), ("warning_red", "step"), ("warning_yellow", "case"),
                        ("warning_red", "case")]
    assert view.version == 5
    assert verify_all(rt).ok
    with rt.engine.connect() as conn:
        notices = conn.execute(select(OutboxRow.__table__).where(
            OutboxRow.__table__.c.topic.in_(("warning_yellow", "warning_red")))).mappings().all()
    assert len(notices) == 4
    assert {(n["channel"], n["recipient"]) for n in notices} == {("sandbox", DEPARTMENT)}
    assert json.loads(notices[-1]["payload"])["due_on"] == "2026-03-23"
    # The staff notices render as they will be dispatched (days left counted to the due date).
    from notifications.render import render

    payloads = [json.loads(n["payload"]) for n in notices]
    assert [p["days_left"] for p in payloads] == [1, -1, 3, -1]
    for notice, payload in zip(notices, payloads, strict=True):
        assert render(notice["topic"], "sandbox", payload).text.strip()


def test_a_stopped_clock_raises_no_case_warning_and_a_new_step_gets_its_own(rt):
    case_no = submitted(rt)
    fire(rt, case_no, "request_correction", Actor("li", "window_clerk", DEPARTMENT),
         fields={"corrections": "写明文号", "correction_period": "15日"}, occurred_at=at("2026-03-03", 9))
    assert raised(rt, "2026-04-30") == []  # awaiting correction: the clock is stopped
    fire(rt, case_no, "submit_correction", Actor("li", "window_clerk", DEPARTMENT),
         occurred_at=at("2026-05-06", 9))
    assert raised(rt, "2026-06-30") == [("case", "red", "promised")]


def test_a_late_sweep_raises_red_without_a_stale_yellow_and_closed_cases_are_left_alone(rt):
    late = submitted(rt)
    closed = submitted(rt)
    fire(rt, closed, "request_correction", Actor("li", "window_clerk", DEPARTMENT),
         fields={"corrections": "x", "correction_period": "15日"}, occurred_at=at("2026-03-03", 9))
    fire(rt, closed, "abandon", Actor("zhao", "handler", DEPARTMENT), fields={"reason": "逾期"},
         occurred_at=at("2026-03-30", 9))
    found = sweep(rt, now=at("2026-04-30", 9))
    assert sorted((w.case_no, w.scope, w.level) for w in found) == [(late, "case", "red"),
                                                                     (late, "step", "red")]


def test_two_sweeps_at_once_raise_each_warning_once(sqlite_rt):
    rt = sqlite_rt
    for _ in range(3):
        submitted(rt)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(len(sweep(rt, now=at("2026-03-24", 9)))))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 6  # 3 cases x (step red + case red), whoever raised them
    with rt.engine.connect() as conn:
        assert len(conn.execute(select(CaseWarningRow.__table__)).all()) == 6
    assert verify_all(rt).ok
