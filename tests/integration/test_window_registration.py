"""Window registration on real SQLite and PostgreSQL: one case per form, however often it is posted."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from gkflow.db.case_rows import cases_t
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.domain.identifiers import query_code_matches
from gkflow.services.cases import Applicant
from gkflow.services.views import load_case_row, public_case
from gkflow.services.window import code_for_slip, register_at_window, reissue_query_code, slip_facts

GOV = "gov-info-request"
CLERK = Actor("clerk", "window_clerk", "格尔木市人民政府办公室")
TOKEN = "form-token-0123456789abcdef"


def _register(rt, token=TOKEN):
    return register_at_window(rt, GOV, Applicant("王小明", "13912345678"), form_token=token, actor=CLERK,
                              fields={"requested_information": "预算"}, materials=["政府信息公开申请表"])


def _count(rt):
    with rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases_t)).scalar_one()


def test_the_same_form_posted_twice_answers_with_the_same_case_and_code(rt):
    first = _register(rt)
    again = _register(rt)
    assert not first.repeated and again.repeated
    assert (again.case_no, again.query_code) == (first.case_no, first.query_code)
    assert _count(rt) == 1
    assert public_case(rt, first.case_no, first.query_code).state == "received"
    other = _register(rt, token="another-form-token-0123456789")
    assert other.case_no != first.case_no and _count(rt) == 2


def test_two_clicks_at_once_make_one_case(rt):
    results = []

    def click():
        results.append(_register(rt))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.case_no for r in results}) == 1 and _count(rt) == 1
    assert sum(not r.repeated for r in results) == 1


def test_a_form_without_its_token_is_refused_and_registers_nothing(rt):
    with pytest.raises(InvalidInput, match="表单已失效"):
        _register(rt, token="")
    assert _count(rt) == 0


def test_the_slip_knows_its_kind_materials_and_clerk_and_a_new_code_replaces_the_old(rt):
    first = _register(rt)
    row = load_case_row(rt, first.case_no)
    facts = slip_facts(rt, row["id"], first.case_no, rt.item(GOV, row["item_version"]))
    assert facts.kind == "registration_receipt" and facts.materials == ["政府信息公开申请表"]
    assert code_for_slip(rt, first.case_no, first.query_code) == first.query_code
    assert code_for_slip(rt, first.case_no, "WRONG234") is None
    new_code = reissue_query_code(rt, first.case_no, CLERK)
    row = load_case_row(rt, first.case_no)
    assert query_code_matches(first.case_no, new_code, row["query_hash"])
    assert not query_code_matches(first.case_no, first.query_code, row["query_hash"])
    assert public_case(rt, first.case_no, new_code).timeline[-1].label == "重置查询码"
