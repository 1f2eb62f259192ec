"""The look-up path reads a case and its history with hand-written SQL in one statement; it must
return exactly what SQLAlchemy's own types return, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from gkflow.db import case_rows
from gkflow.domain.cases import Actor
from gkflow.domain.errors import NotFound
from gkflow.services.cases import Applicant, fire, submit_case

CLERK = Actor("li.clerk", "window_clerk", "格尔木市人民政府办公室")
HANDLER = Actor("zhao.handler", "handler", "格尔木市人民政府办公室")


def test_one_statement_reads_the_case_and_timeline_exactly_as_sqlalchemy_does(rt):
    case_no = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678", "630101199001011239"),
                          received_at=datetime.fromisoformat("2026-03-02T09:00:00+08:00"),
                          fields={"requested_information": "预算"}).case_no
    fire(rt, case_no, "accept", CLERK, comment="收到")
    fire(rt, case_no, "decide", HANDLER, fields={"outcome": "予以公开"})
    fire(rt, case_no, "deliver", CLERK)  # closed_at set: every kind of column has a value
    with rt.engine.connect() as conn:
        expected_case = case_rows.case_row(conn, case_no)
        expected_events = case_rows.event_rows(conn, expected_case["id"])
    with rt.read_engine.connect() as conn:
        case, events = case_rows.read_case_and_events(conn, case_no)
        alone = case_rows.read_case(conn, case_no)
        item = case_rows.item_of_case(conn, case_no)
    assert case == expected_case == alone
    assert events == [{k: e[k] for k in case_rows.TIMELINE_COLUMNS} for e in expected_events]
    assert [type(case[k]).__name__ for k in ("received_at", "received_on", "clock_running", "closed_at")] == \
        ["datetime", "date", "bool", "datetime"]
    assert case["closed_at"].utcoffset().total_seconds() == 0 and item == ("gov-info-request", 2)


def test_an_unknown_case_is_not_found_on_every_read(rt):
    with rt.read_engine.connect() as conn:
        for read in (case_rows.read_case_and_events, case_rows.read_case, case_rows.item_of_case):
            with pytest.raises(NotFound):
                read(conn, "GK20260302-NOSUCH")


def test_a_raw_statement_fails_with_sqlalchemys_own_error_classes(rt):
    with rt.read_engine.connect() as conn, pytest.raises((OperationalError, ProgrammingError)) as caught:
        case_rows.FastSQL(conn).fetch_all("SELECT nothing FROM no_such_table", {})
    assert "no_such_table" in str(caught.value)


def test_a_case_number_already_taken_is_drawn_again_and_nothing_half_written_remains(rt, monkeypatch):
    from sqlalchemy import func, select

    from gkflow.domain.errors import Conflict
    from gkflow.services import cases as case_service

    taken = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"),
                        fields={"requested_information": "预算"}).case_no
    draws = iter([taken, taken, "GK20260302-FRESH1"])
    monkeypatch.setattr(case_service, "new_case_no", lambda _day: next(draws))
    again = submit_case(rt, "gov-info-request", Applicant("李四", "13912345679"),
                        fields={"requested_information": "决算"})
    assert again.case_no == "GK20260302-FRESH1"
    monkeypatch.setattr(case_service, "new_case_no", lambda _day: taken)
    with pytest.raises(Conflict):
        submit_case(rt, "gov-info-request", Applicant("王五", "13912345670"),
                    fields={"requested_information": "三公经费"})
    with rt.engine.connect() as conn:
        counts = [conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (case_rows.cases_t, case_rows.events_t)]
    assert counts == [2, 2]  # the refused submission left no event behind


def test_a_write_transaction_after_autocommit_reads_on_the_same_pool_still_rolls_back_whole(rt):
    from sqlalchemy import func, select

    from gkflow.db.fastsql import write_transaction

    case_no = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"),
                          fields={"requested_information": "预算"}).case_no
    for _ in range(3):  # every pooled connection has served an autocommit read
        with rt.read_engine.connect() as conn:
            case_rows.read_case(conn, case_no)
    with pytest.raises(RuntimeError), write_transaction(rt.engine) as db:
        db.execute("UPDATE cases SET state = :state WHERE case_no = :case_no",
                   {"state": "broken", "case_no": case_no})
        raise RuntimeError("the step fails after its first write")
    with rt.engine.connect() as conn:
        states = conn.execute(select(case_rows.cases_t.c.state)).scalars().all()
        events = conn.execute(select(func.count()).select_from(case_rows.events_t)).scalar_one()
    assert states == ["received"] and events == 1
