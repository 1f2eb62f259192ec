"""What a case is found by, and what a clerk's search text means (gkflow.domain.search)."""

from __future__ import annotations

from datetime import date

from gkflow.domain.search import ExactCase, ReceivedOn, Term, case_terms, parse_query


def test_a_case_is_found_by_runs_of_its_number_by_parts_of_the_name_and_by_the_phone_tail_only():
    terms = case_terms("GK20261130-KYTQCU", "王小明", "13912345678")
    assert {"KYT", "YTQ", "QCU", "KYTQ", "TQCU", "KYTQCU"} <= terms
    assert {"王", "王小", "小明", "王小明"} <= terms
    assert "5678" in terms
    assert not any("1391234" in t or t == "139" for t in terms)  # the full phone is never copied
    assert "明" not in terms and "KY" not in terms  # single given-name characters, 2-letter runs: too broad


def test_long_names_are_indexed_up_to_four_characters_per_term():
    terms = case_terms("GK20261130-ABCDEF", "青海某建设集团有限公司", None)
    assert "青海某建" in terms and "有限公司" in terms and all(len(t) <= 6 for t in terms)


def test_the_search_text_becomes_tokens_that_must_all_match():
    assert parse_query("gk20261130-kytqcu") == [ExactCase("GK20261130-KYTQCU")]
    assert parse_query(" kyt ") == [Term("KYT")]
    assert parse_query("1130-KYTQ") == [Term("KYTQ")]
    assert parse_query("张三 5678") == [Term("张三"), Term("5678")]
    assert parse_query("13912345678") == [Term("5678", phone_is="13912345678")]
    assert parse_query("青海某建设集团") == [Term("青海某建", name_contains="青海某建设集团")]
    assert parse_query("GK20261130") == [ReceivedOn(date(2026, 11, 30))]
    assert parse_query("GK20261340") == []  # not a date: nothing to look up
    assert parse_query("") == [] and parse_query(None) == []
    assert len(parse_query("a b c d e f")) == 4
