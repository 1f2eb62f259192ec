"""Submit and advance cases on real SQLite and real PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gkflow.db.models import CaseRow, EventRow, OutboxRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict
from gkflow.services import cases as case_service
from gkflow.services.audit import verify_all
from gkflow.services.cases import Applicant, Submitted, fire, submit_case
from gkflow.services.read_models import LimitView
from gkflow.services.views import public_case, show_case
from tests.helpers import at, drop_append_only_trigger, submit

CLERK = Actor("li.clerk", "window_clerk", "格尔木市人民政府办公室")
HANDLER = Actor("zhao.handler", "handler", "格尔木市人民政府办公室")
HEAD = Actor("wang.head", "department_head", "格尔木市人民政府办公室")
APPLICANT = Applicant("张三", "13912345678", "630101199001011239", "zhang@example.cn")


def counts(rt) -> tuple[int, int, int]:
    with rt.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (CaseRow.__table__, EventRow.__table__, OutboxRow.__table__)
        )


def submit_on(rt, day: str = "2026-03-02") -> Submitted:
    """张三's request for information, received at 10:00 on ``day``."""
    return submit(rt, applicant=APPLICANT, received_at=at(day),
                  fields={"requested_information": "2025年格尔木市财政预算执行情况"})


def test_a_case_goes_from_submission_to_completion_with_its_timeline_and_notices(rt):
    s = submit_on(rt)
    assert len(s.query_code) == 8 and s.case_no.startswith("GK20260302-")
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    fire(rt, s.case_no, "decide", HANDLER, fields={"outcome": "予以公开"}, occurred_at=at("2026-03-10"))
    fire(rt, s.case_no, "deliver", CLERK, occurred_at=at("2026-03-11"), expected_version=3)
    view = show_case(rt, s.case_no)
    assert view.state == "completed" and view.final and view.version == 4
    assert view.statutory_due == "2026-03-30" and view.promised_due == "2026-03-23"
    assert [t.action for t in view.timeline] == ["submit", "accept", "decide", "deliver"]
    assert view.closed_at.startswith("2026-03-11T10:00:00+08:00")
    with rt.engine.connect() as conn:
        topics = conn.execute(
            select(OutboxRow.__table__.c.topic, OutboxRow.__table__.c.channel)
            .order_by(OutboxRow.__table__.c.id)
        ).all()
    # sms + email for each notice: accepted (submit), decided, delivered, rating_invitation
    assert [t for t, _ in topics] == [
        "accepted", "accepted", "decided", "decided", "delivered", "delivered",
        "rating_invitation", "rating_invitation",
    ]
    assert verify_all(rt).ok


def test_notice_payload_masks_the_applicant_and_names_department_and_promised_date(rt):
    s = submit_on(rt)
    with rt.engine.connect() as conn:
        payload = json.loads(conn.execute(select(OutboxRow.__table__.c.payload)).scalars().first())
    assert payload["applicant_name"] == "张*"
    assert payload["department"] == "格尔木市人民政府办公室"
    assert payload["promised_due"] == "2026-03-23"
    assert s.query_code not in json.dumps(payload)


def test_a_case_keeps_the_rules_in_force_on_the_day_it_was_received(rt):
    old = submit_on(rt, "2019-05-14")
    new = submit_on(rt, "2019-05-15")
    assert show_case(rt, old.case_no).item_version == 1
    assert show_case(rt, old.case_no).statutory_limit == LimitView(days=15, unit="working")
    assert show_case(rt, new.case_no).item_version == 2
    assert show_case(rt, new.case_no).statutory_limit == LimitView(days=20, unit="working")


def test_a_stale_version_is_a_conflict_and_changes_nothing(rt):
    s = submit_on(rt)
    fire(rt, s.case_no, "accept", CLERK, expected_version=1, occurred_at=at("2026-03-03"))
    before = counts(rt)
    with pytest.raises(Conflict):
        fire(rt, s.case_no, "decide", HANDLER, fields={"outcome": "予以公开"}, expected_version=1)
    assert counts(rt) == before
    assert show_case(rt, s.case_no).state == "under_review"


def test_a_failure_inside_a_transition_leaves_no_event_and_no_outbox_row(rt, monkeypatch):
    s = submit_on(rt)
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    before = counts(rt)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full while writing the outbox")

    monkeypatch.setattr(case_service, "outbox_rows", explode)
    with pytest.raises(RuntimeError):
        fire(rt, s.case_no, "decide", HANDLER, fields={"outcome": "予以公开"}, occurred_at=at("2026-03-04"))
    assert counts(rt) == before
    view = show_case(rt, s.case_no)
    assert view.state == "under_review" and view.version == 2
    assert verify_all(rt).ok


def test_many_threads_advancing_one_case_exactly_one_wins_per_version(rt):
    s = submit_on(rt)
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            fire(rt, s.case_no, "decide", HANDLER, fields={"outcome": f"答复{i}"}, expected_version=2,
                 occurred_at=at("2026-03-04"))
            result = "won"
        except Conflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    view = show_case(rt, s.case_no)
    assert view.version == 3 and [t.action for t in view.timeline][-1] == "decide"
    assert verify_all(rt).ok


def test_the_database_refuses_updates_and_deletes_of_history(rt):
    submit_on(rt)
    for statement in ("UPDATE events SET comment = 'rewritten'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), rt.engine.begin() as conn:
            conn.execute(text(statement))
    assert counts(rt)[1] == 1


def test_audit_verify_reports_the_first_broken_link_after_tampering(rt):
    s = submit_on(rt)
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    fire(rt, s.case_no, "decide", HANDLER, fields={"outcome": "予以公开"}, occurred_at=at("2026-03-04"))
    assert verify_all(rt).ok
    # An attacker with database rights drops the guard and rewrites a decision.
    drop_append_only_trigger(rt.engine)
    with rt.engine.begin() as conn:
        conn.execute(text("UPDATE events SET fields = '{\"outcome\": \"不予公开\"}' WHERE seq = 3"))
    report = verify_all(rt)
    assert not report.ok
    assert (report.first_break.case_no, report.first_break.seq) == (s.case_no, 3)


def test_public_lookup_needs_the_query_code_and_answers_the_same_not_found_either_way(rt):
    from gkflow.domain.errors import NotFound

    s = submit_on(rt)
    view = public_case(rt, s.case_no, s.query_code.lower())
    assert view.applicant.phone == "139****5678" and view.applicant.name == "张*"
    assert all(t.actor in ("申请人", "工作人员") for t in view.timeline)
    with pytest.raises(NotFound) as wrong_code:
        public_case(rt, s.case_no, "AAAAAAAA")
    with pytest.raises(NotFound) as wrong_number:
        public_case(rt, "GK20260302-XXXXXX", s.query_code)
    assert wrong_code.value.message == wrong_number.value.message
    with rt.engine.connect() as conn:
        stored = conn.execute(select(CaseRow.__table__.c.query_hash)).scalar_one()
    assert s.query_code not in stored


def test_clock_stops_while_awaiting_correction_and_restarts_from_the_corrected_application(rt):
    s = submit_on(rt)
    fire(rt, s.case_no, "request_correction", CLERK,
         fields={"corrections": "请补充申请人身份证明", "correction_period": "15个工作日"},
         occurred_at=at("2026-03-04"))
    stopped = show_case(rt, s.case_no)
    assert stopped.clock == "stopped" and stopped.statutory_due is None
    fire(rt, s.case_no, "submit_correction", Actor("zhang", "applicant"), occurred_at=at("2026-03-20"))
    running = show_case(rt, s.case_no)
    assert running.clock == "running"
    assert running.statutory_due == rt.calendar.add_working_days(
        datetime(2026, 3, 20).date(), 20).date.isoformat()


def test_received_at_is_stored_utc_and_shown_in_asia_shanghai(rt):
    s = submit_case(rt, "gov-info-request", APPLICANT,
                    received_at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC),  # 01:30 on 2 March local
                    fields={"requested_information": "x"})
    view = show_case(rt, s.case_no)
    assert view.received_at == "2026-03-02T01:30:00+08:00"
    assert s.case_no.startswith("GK20260302-")


def test_a_work_order_dispatched_to_another_department_may_be_handled_by_it(rt):
    from gkflow.domain.errors import Forbidden

    s = submit_case(rt, "hotline-complaint", Applicant("赵六", "13600003333"), intake_channel="hotline",
                    received_at=at("2026-03-02"), fields={"content": "小区供暖不热"})
    dispatcher = Actor("hotline.d", "dispatcher", "格尔木市政务服务监督管理局（12345政务服务便民热线）")
    fire(rt, s.case_no, "dispatch", dispatcher, fields={"assignee": "格尔木市住房和城乡建设局"},
         occurred_at=at("2026-03-02", 11))
    with pytest.raises(Forbidden, match="assigned to"):
        fire(rt, s.case_no, "sign", Actor("x", "handler", "格尔木市财政局"), occurred_at=at("2026-03-02", 12))
    fire(rt, s.case_no, "sign", Actor("liu", "handler", "格尔木市住房和城乡建设局"),
         occurred_at=at("2026-03-02", 12))
    assert show_case(rt, s.case_no).state == "handling"


def test_a_naive_receipt_time_is_local_time_whatever_the_server_zone(rt):
    # 23:30 on 2 March in Golmud, whatever zone the server runs in.
    s = submit_case(rt, "gov-info-request", APPLICANT, received_at=datetime(2026, 3, 2, 23, 30),
                    fields={"requested_information": "x"})
    view = show_case(rt, s.case_no)
    assert view.received_at == "2026-03-02T23:30:00+08:00" and s.case_no.startswith("GK20260302-")


def test_audit_names_the_case_whose_last_events_were_cut_off_or_whose_events_are_all_gone(rt):
    submit_on(rt)  # an intact case before the broken one
    second = submit_on(rt)
    fire(rt, second.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    drop_append_only_trigger(rt.engine)
    with rt.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE seq = 2"))
    report = verify_all(rt)
    assert (report.first_break.case_no, report.first_break.seq) == (second.case_no, 1)
    assert "head" in report.first_break.reason
    with rt.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE case_id = (SELECT id FROM cases WHERE case_no = :no)"),
                     {"no": second.case_no})
    report = verify_all(rt)
    assert report.first_break.case_no == second.case_no and "no events" in report.first_break.reason


def test_a_back_dated_step_is_stamped_with_the_wall_clock_for_delivery(rt):
    s = submit_on(rt, "2026-02-02")
    fire(rt, s.case_no, "request_correction", CLERK, occurred_at=at("2026-02-03"),
         fields={"corrections": "补充身份证明", "correction_period": "15日"},
         backdate_reason="根据纸质记录补录")
    with rt.engine.connect() as conn:
        created = conn.execute(
            select(OutboxRow.__table__.c.created_at, OutboxRow.__table__.c.next_attempt_at)
            .where(OutboxRow.__table__.c.topic == "correction_requested")
        ).all()
    assert created and all(c == n == rt.now() for c, n in created)


def test_the_public_timeline_leaves_out_what_the_submission_says_about_third_parties(rt):
    s = submit_case(rt, "hotline-complaint", Applicant("赵六", "13600003333"), intake_channel="hotline",
                    received_at=at("2026-03-02"),
                    fields={"content": "邻居李四（13511112222）夜间施工", "respondent": "李四"})
    view = public_case(rt, s.case_no, s.query_code)
    assert view.timeline[0].fields == {}
    assert "13511112222" not in str(view) and "李四" not in str(view)
    assert show_case(rt, s.case_no).timeline[0].fields["respondent"] == "李四"  # staff still see it
