"""The case state machine, without any I/O."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gkflow.catalogue import catalogue_from, load_catalogue_files
from gkflow.domain.cases import Actor, open_clocks, plan_transition
from gkflow.domain.errors import Forbidden, InvalidInput, TransitionNotAllowed

ITEMS = Path(__file__).resolve().parents[2] / "config" / "items" / "gov-info-request.yaml"


@pytest.fixture(scope="module")
def item():
    loaded, problems = load_catalogue_files(ITEMS)
    assert problems == []
    return catalogue_from(v.item for v in loaded).in_force("gov-info-request", date(2026, 3, 2))


CLERK = Actor("li", "window_clerk", "格尔木市人民政府办公室")
HEAD = Actor("wang", "department_head", "格尔木市人民政府办公室")


def plan(item, cal, state, action, actor=CLERK, fields=None, clocks=None, on=date(2026, 3, 3)):
    clocks = clocks or open_clocks(item, date(2026, 3, 2))
    return plan_transition(item, state, clocks, action, actor, fields=fields, on=on, calendar=cal,
                           case_department=item.department)


def test_a_wrong_action_names_the_allowed_ones(item, cal):
    with pytest.raises(TransitionNotAllowed) as exc:
        plan(item, cal, "received", "deliver")
    assert "accept" in exc.value.message and "request_correction" in exc.value.message
    assert exc.value.details["allowed"] == ["accept", "request_correction"]


def test_a_wrong_role_says_which_roles_may_act(item, cal):
    with pytest.raises(Forbidden) as exc:
        plan(item, cal, "under_review", "extend", actor=CLERK, fields={"reason": "x"})
    assert "department_head" in exc.value.message


def test_another_department_may_not_act(item, cal):
    with pytest.raises(Forbidden):
        plan(item, cal, "received", "accept", actor=Actor("x", "window_clerk", "格尔木市财政局"))


def test_missing_required_fields_are_named(item, cal):
    with pytest.raises(InvalidInput) as exc:
        plan(item, cal, "received", "request_correction", fields={"corrections": "补身份证"})
    assert exc.value.details["fields"] == ["correction_period"]


def test_unknown_fields_are_refused(item, cal):
    with pytest.raises(InvalidInput):
        plan(item, cal, "received", "accept", fields={"nonsense": "1"})


def test_correction_stops_the_clock_and_the_corrected_application_restarts_it(item, cal):
    p1 = plan(item, cal, "received", "request_correction",
                 fields={"corrections": "补充申请表", "correction_period": "15日"})
    assert not p1.clocks.running and p1.statutory_due is None
    p2 = plan(item, cal, "awaiting_correction", "submit_correction",
                 actor=Actor("zhang", "applicant"), clocks=p1.clocks, on=date(2026, 3, 20))
    assert p2.clocks.running and p2.clocks.statutory.used == 0
    assert p2.statutory_due.date == cal.add_working_days(date(2026, 3, 20), 20).date


def test_the_limit_can_be_extended_only_once(item, cal):
    p1 = plan(item, cal, "under_review", "extend", actor=HEAD, fields={"reason": "需调档"})
    assert p1.clocks.statutory.limit.days == 40
    with pytest.raises(TransitionNotAllowed, match="已经|already"):
        plan(item, cal, "under_review", "extend", actor=HEAD, fields={"reason": "再延"},
             clocks=p1.clocks)


def test_a_closed_case_accepts_no_action(item, cal):
    with pytest.raises(TransitionNotAllowed, match="closed"):
        plan(item, cal, "completed", "deliver")
