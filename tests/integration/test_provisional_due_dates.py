"""A due date in a year without an official schedule is provisional, then recomputed."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime

from sqlalchemy import select

from gkflow.db.models import OutboxRow
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case
from gkflow.services.recompute import recompute_provisional
from gkflow.services.views import show_case
from gkflow.settings import Settings
from tests.conftest import CONFIG_DIR

# A 2027 schedule as the State Council might publish it: Spring Festival 2027-02-05..02-13 off,
# make-up Saturdays 2027-02-20 and 2027-01-30 (hypothetical, for the test).
OFFICIAL_2027 = """
years:
  2027:
    holidays: [2027-01-01, 2027-01-02, 2027-01-03, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08,
               2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12, 2027-02-13]
    workdays: [2027-01-30, 2027-02-20]
"""


def with_official_2027(rt: Runtime, tmp_path) -> Runtime:
    """The same database, seen with a config whose calendar.yaml has the 2027 schedule added."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "calendar.yaml").read_text(encoding="utf-8").replace("years: {}", OFFICIAL_2027)
    (config / "calendar.yaml").write_text(text, encoding="utf-8")
    return Runtime(Settings(var_dir=tmp_path / "var", database_url=rt.settings.db_url, config_dir=config),
                   rt.clock, engine_override=rt.engine)


def test_december_case_is_registered_with_a_provisional_due_date_then_recomputed(rt, tmp_path):
    s = submit_case(rt, "gov-info-request", Applicant("李四", "13800001111"),
                    received_at=datetime.fromisoformat("2026-12-15T10:00:00+08:00"),
                    fields={"requested_information": "2026年土地出让收入"})
    view = show_case(rt, s.case_no)
    assert view.statutory_due_provisional is True
    assert view.statutory_due == "2027-01-13"  # weekends + New Year's Day only
    assert view.promised_due_provisional is True

    # Nothing changes while the calendar is the same.
    assert recompute_provisional(rt) == []

    official = with_official_2027(rt, tmp_path)
    assert official.calendar.is_official(2027)

    changed = recompute_provisional(official)
    assert len(changed) == 1 and changed[0]["case_no"] == s.case_no
    after = show_case(official, s.case_no)
    assert after.statutory_due_provisional is False
    # The official schedule has the same days off up to 13 January, so the date stays; the
    # history still records that it was recomputed and is no longer provisional.
    assert after.statutory_due == "2027-01-13"
    assert after.timeline[-1].action == "due_date_recomputed"
    assert after.version == view.version + 1


def test_a_moved_due_date_notifies_the_applicant(rt, tmp_path):
    s = submit_case(rt, "gov-info-request", Applicant("王五", "13700002222"),
                    received_at=datetime.fromisoformat("2027-02-01T10:00:00+08:00"),
                    fields={"requested_information": "2026年决算"})
    before = show_case(rt, s.case_no)
    assert before.statutory_due_provisional is True
    official = with_official_2027(rt, tmp_path)
    changed = recompute_provisional(official)
    assert changed[0]["moved"] is True
    after = show_case(official, s.case_no)
    assert after.statutory_due != before.statutory_due
    expected = official.calendar.add_working_days(date(2027, 2, 1), 20).date.isoformat()
    assert (before.statutory_due, after.statutory_due, expected) == ("2027-03-05", "2027-03-08", "2027-03-08")
    with rt.engine.connect() as conn:
        rows = conn.execute(
            select(OutboxRow.__table__.c.topic, OutboxRow.__table__.c.payload)
            .where(OutboxRow.__table__.c.topic == "due_date_changed")
        ).all()
    assert rows and json.loads(rows[0].payload)["statutory_due"] == expected
