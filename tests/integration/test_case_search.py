"""Case search on real SQLite and PostgreSQL: terms, filters, tabs with counts, keyset pages, access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from gkflow.db.case_search import terms_t
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.services.accounts import Account
from gkflow.services.case_search import backfill_search_terms, search_cases
from gkflow.services.cases import Applicant, fire, submit_case

GOV = "gov-info-request"
GOV_DEPT = "格尔木市人民政府办公室"
SAFETY = "格尔木市应急管理局"
HOTLINE = "格尔木市政务服务监督管理局（12345政务服务便民热线）"
CLERK = Account(username="clerk", display_name="窗口", roles=("window_clerk", "handler"), department=GOV_DEPT,
                password_hash="")
SAFETY_CLERK = Account(username="safety", display_name="安监", roles=("window_clerk", "handler"),
                       department=SAFETY, password_hash="")
ADMIN = Account(username="admin", display_name="管理员", roles=("admin",), department=None, password_hash="")


def _submit(rt, name, phone="13912345678", item=GOV):
    fields = {"requested_information": "x"} if item == GOV else {"content": "占道经营"}
    return submit_case(rt, item, Applicant(name, phone), fields=fields).case_no


def _complete(rt, case_no):
    clerk = Actor("clerk", "window_clerk", GOV_DEPT)
    fire(rt, case_no, "accept", clerk)
    fire(rt, case_no, "decide", Actor("clerk", "handler", GOV_DEPT), fields={"outcome": "予以公开"})
    fire(rt, case_no, "deliver", clerk)


def _nos(page):
    return [row.case_no for row in page.items]


def test_search_finds_a_case_by_number_name_and_phone_tail(rt):
    wang = _submit(rt, "王小明", "13912345678")
    li = _submit(rt, "李明", "13800001111")
    tail = wang.split("-")[1]
    assert _nos(search_cases(rt, CLERK, q=wang)) == [wang]
    assert _nos(search_cases(rt, CLERK, q=tail[1:5].lower())) == [wang]
    assert _nos(search_cases(rt, CLERK, q="小明")) == [wang]
    assert _nos(search_cases(rt, CLERK, q="王小明")) == [wang]
    assert _nos(search_cases(rt, CLERK, q="1111")) == [li]
    assert _nos(search_cases(rt, CLERK, q="13800001111")) == [li]
    assert _nos(search_cases(rt, CLERK, q="13800009999")) == []  # same tail, another number
    assert _nos(search_cases(rt, CLERK, q="王小明 1111")) == []  # every word must match
    assert set(_nos(search_cases(rt, CLERK, q=wang.split("-")[0]))) == {wang, li}  # GKyyyymmdd: that day
    row = search_cases(rt, CLERK, q="王小明").items[0]
    assert row.applicant == "王**" and row.applicant_phone == "139****5678" and row.days_unit == "working"


def test_a_search_shows_every_tab_s_count_and_completed_cases_too(rt, clock):
    done = _submit(rt, "张伟")
    _complete(rt, done)
    open_case = _submit(rt, "张伟")
    page = search_cases(rt, CLERK, q="张伟")
    assert set(_nos(page)) == {done, open_case}  # searching looks in every case, not only open ones
    assert page.counts.model_dump() == {"all": 2, "open": 1, "week": 0, "overdue": 0, "completed": 1,
                                      "capped_at": 10000}
    completed = search_cases(rt, CLERK, q="张伟", tab="completed").items[0]
    assert completed.case_no == done and completed.final and completed.on_time is True
    assert completed.days_left is None and completed.closed_at
    clock.advance(timedelta(days=16))  # 2026-03-18: the promised 2026-03-23 is 3 working days away
    assert _nos(search_cases(rt, CLERK, tab="week")) == [open_case]
    clock.advance(timedelta(days=7))
    assert _nos(search_cases(rt, CLERK, tab="overdue")) == [open_case]
    assert search_cases(rt, CLERK, tab="overdue").items[0].days_left == -2


def test_pages_follow_the_keyset_with_stopped_clocks_after_running_ones(rt, clock):
    numbers = []
    for day in range(5):
        numbers.append(_submit(rt, f"赵{day}一"))
        clock.advance(timedelta(days=1))
    fire(rt, numbers[0], "request_correction", Actor("clerk", "window_clerk", GOV_DEPT),
         fields={"corrections": "补身份证", "correction_period": "5日"})  # the clock stops
    seen = []
    cursor = None
    while True:
        page = search_cases(rt, CLERK, tab="open", limit=2, cursor=cursor)
        seen += _nos(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == numbers[1:] + [numbers[0]]
    received = []
    cursor = None
    while True:
        page = search_cases(rt, CLERK, tab="all", limit=3, cursor=cursor)
        received += _nos(page)
        if not (cursor := page.next_cursor):
            break
    assert received == list(reversed(numbers))  # newest first


def test_filters_narrow_by_item_state_department_and_received_dates(rt, clock):
    first = _submit(rt, "钱一")
    clock.advance(timedelta(days=2))
    second = _submit(rt, "钱二")
    fire(rt, second, "accept", Actor("clerk", "window_clerk", GOV_DEPT))
    day_two = rt.local_date(rt.now())
    assert _nos(search_cases(rt, CLERK, state="under_review")) == [second]
    assert _nos(search_cases(rt, CLERK, received_from=day_two)) == [second]
    assert _nos(search_cases(rt, CLERK, received_to=day_two - timedelta(days=1))) == [first]
    assert _nos(search_cases(rt, ADMIN, department=SAFETY)) == []
    assert set(_nos(search_cases(rt, ADMIN, department=GOV_DEPT))) == {first, second}
    assert set(_nos(search_cases(rt, None))) == {first, second}  # the operator at the CLI
    with pytest.raises(InvalidInput, match="received_from"):
        search_cases(rt, CLERK, received_from=day_two, received_to=day_two - timedelta(days=1))


def test_staff_see_only_their_department_s_cases_and_those_assigned_to_it(rt):
    gov = _submit(rt, "孙一")
    order = _submit(rt, "孙二", item="hotline-complaint")
    assert _nos(search_cases(rt, SAFETY_CLERK, q="孙")) == []
    assert _nos(search_cases(rt, SAFETY_CLERK, q=gov)) == []  # not even by its whole number
    fire(rt, order, "dispatch", Actor("dispatcher", "dispatcher", HOTLINE), fields={"assignee": SAFETY})
    assert _nos(search_cases(rt, SAFETY_CLERK, q="孙")) == [order]
    assert _nos(search_cases(rt, SAFETY_CLERK, department=GOV_DEPT)) == [order]  # staff cannot widen it


def test_a_bad_cursor_or_tab_is_refused_with_its_name(rt):
    _submit(rt, "周一")
    with pytest.raises(InvalidInput, match="cursor"):
        search_cases(rt, CLERK, cursor="not-a-cursor")
    page = search_cases(rt, CLERK, tab="all", limit=1)
    with pytest.raises(InvalidInput, match="cursor"):
        search_cases(rt, CLERK, tab="open", cursor=page.next_cursor or "eA")
    with pytest.raises(InvalidInput, match="tab"):
        search_cases(rt, CLERK, tab="everything")


def test_cases_made_before_search_existed_are_indexed_by_init(rt):
    case_no = _submit(rt, "吴九")
    with rt.engine.begin() as conn:
        conn.execute(delete(terms_t))
    assert _nos(search_cases(rt, CLERK, q="吴九")) == []
    assert backfill_search_terms(rt) == 1
    assert _nos(search_cases(rt, CLERK, q="吴九")) == [case_no]
    assert backfill_search_terms(rt) == 0
