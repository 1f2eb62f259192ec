"""Time that stays right (issue 11): used days recounted from the stop/resume events when the
calendar changes, and steps recorded in the order they happened (back-dated ones with a reason)."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest
from sqlalchemy import func, select

from gkflow.db.models import EventRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.audit import verify_all
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.services.recompute import recompute_from_history
from gkflow.services.views import show_case
from tests.conftest import CONFIG_DIR
from tests.helpers import with_settings

CLERK = Actor("li.clerk", "window_clerk", "格尔木市人民政府办公室")
HANDLER = Actor("zhao.handler", "handler", "格尔木市人民政府办公室")
# The official 2027 schedule: 5-11 February off, Saturday 20 February a working day.
OFFICIAL_2027 = """years:
  2027:
    holidays: [2027-01-01, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10,
               2027-02-11]
    workdays: [2027-02-20]
"""


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


def official(rt: Runtime, tmp_path) -> Runtime:
    config = tmp_path / "config-official"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "calendar.yaml").read_text(encoding="utf-8").replace("years: {}", OFFICIAL_2027)
    (config / "calendar.yaml").write_text(text, encoding="utf-8")
    return with_settings(rt, config_dir=config)


def stopped_for_a_third_party(rt: Runtime) -> str:
    rt.clock.set(at("2027-01-20"))
    s = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"), received_at=at("2027-01-20"),
                    fields={"requested_information": "2026年决算"})
    rt.clock.set(at("2027-01-21"))
    fire(rt, s.case_no, "accept", CLERK)
    rt.clock.set(at("2027-02-15"))
    fire(rt, s.case_no, "consult_third_party", HANDLER, fields={"third_party": "某公司"})
    return s.case_no


def test_the_official_schedule_recounts_a_clock_stopped_in_a_provisional_year(rt, tmp_path):
    case_no = stopped_for_a_third_party(rt)
    # Provisional 2027: 5-8 Feb off and Sat 6 / Sun 7 made up on 9-10 Feb: 14 days used by 15 Feb.
    assert show_case(rt, case_no).clock == "stopped"
    with_official = official(rt, tmp_path)
    [changed] = recompute_from_history(with_official)  # `gkflow init` / `calendar refresh`
    assert changed["case_no"] == case_no
    rt.clock.set(at("2027-02-22"))
    fire(with_official, case_no, "third_party_replied", HANDLER)
    view = show_case(with_official, case_no)
    # 13 days used (21 Jan - 15 Feb with 5-11 Feb off); 7 more from Tue 23 Feb: 3 March.
    assert view.statutory_due == "2027-03-03" and not view.statutory_due_provisional
    assert verify_all(with_official).ok


def test_a_reply_counted_under_the_provisional_year_is_recounted_when_the_schedule_arrives(rt, tmp_path):
    case_no = stopped_for_a_third_party(rt)
    rt.clock.set(at("2027-02-22"))
    fire(rt, case_no, "third_party_replied", HANDLER)
    assert show_case(rt, case_no).statutory_due == "2027-03-02"  # 14 used under the provisional year
    with_official = official(rt, tmp_path)
    assert [c["case_no"] for c in recompute_from_history(with_official)] == [case_no]
    view = show_case(with_official, case_no)
    assert view.statutory_due == "2027-03-03"
    assert view.timeline[-1].fields["statutory_used_before"] == "14"
    assert view.timeline[-1].fields["statutory_used_after"] == "13"
    assert recompute_from_history(with_official) == []  # nothing left to change
    assert verify_all(with_official).ok


def test_a_step_dated_before_the_previous_event_is_refused_and_writes_nothing(rt):
    s = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"), received_at=at("2026-03-02"),
                    fields={"requested_information": "x"})
    with pytest.raises(InvalidInput, match="before the case's previous event") as refused:
        fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-02", 9), backdate_reason="纸质记录")
    assert refused.value.code == "invalid_input" and refused.value.details["fields"] == ["at"]
    with rt.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventRow.__table__)).scalar_one() == 1
    assert show_case(rt, s.case_no).version == 1


def test_a_third_party_reply_dated_before_its_request_is_refused(rt):
    rt.clock.set(at("2026-03-20"))
    s = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"), received_at=at("2026-03-02"),
                    fields={"requested_information": "x"}, )
    paper = "根据纸质记录补录"
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"), backdate_reason=paper)
    fire(rt, s.case_no, "consult_third_party", HANDLER, fields={"third_party": "某公司"},
         occurred_at=at("2026-03-10"), backdate_reason=paper)
    with pytest.raises(InvalidInput, match="before the case's previous event"):
        fire(rt, s.case_no, "third_party_replied", HANDLER, occurred_at=at("2026-03-06"),
             backdate_reason=paper)
    fire(rt, s.case_no, "third_party_replied", HANDLER, occurred_at=at("2026-03-12"), backdate_reason=paper)
    # 6 working days used through the stop on Tue 10 March (3-6, 9, 10), counted once; the other
    # 14 from the reply on Thu 12 March: Fri 13 ... Wed 1 April.
    assert show_case(rt, s.case_no).statutory_due == "2026-04-01"


def test_a_back_dated_step_needs_a_reason_and_is_marked_in_the_history(rt):
    rt.clock.set(at("2026-03-06"))
    s = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"), received_at=at("2026-03-02"),
                    fields={"requested_information": "x"})
    with pytest.raises(InvalidInput, match="back-dated entry") as refused:
        fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    assert refused.value.details["fields"] == ["backdate_reason"]
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"), backdate_reason="根据纸质记录补录")
    step = show_case(rt, s.case_no).timeline[-1]
    assert step.backdated and step.backdate_reason == "根据纸质记录补录"
    assert step.at == "2026-03-03T10:00:00+08:00" and step.recorded_at == "2026-03-06T10:00:00+08:00"
    # A few minutes late is not back-dated: no reason needed.
    rt.clock.set(at("2026-03-06", 11))
    fire(rt, s.case_no, "consult_third_party", HANDLER, fields={"third_party": "某公司"},
         occurred_at=datetime.fromisoformat("2026-03-06T10:50:00+08:00"))
    assert not show_case(rt, s.case_no).timeline[-1].backdated
    assert verify_all(rt).ok  # the reason and the entry time are sealed with the event
