"""Behaviour of the catalogue loader (gkflow.catalogue): every problem is ``file:line: message``.

Each test writes a small item file into ``tmp_path`` (a one-line edit of ``BASE``, so the line numbers
below can be read straight off it) and asserts the exact problem list.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gkflow.catalogue import catalogue_from, load_catalogue_files
from gkflow.domain.errors import NotFound
from gkflow.domain.items import ClockEffect, LimitUnit
from gkflow.domain.topics import NOTICES

SHIPPED_ITEMS = Path(__file__).resolve().parents[2] / "config" / "items"

# A valid item. Line numbers matter: the tests below edit single lines of it.
BASE = """\
code: permit
name: 测试许可
version: 1
effective_from: 2020-01-01
department: 测试局
basis: [《测试条例》第一条]
statutory_limit: {days: 20, unit: working}
promised_limit: {days: 10, unit: working}
initial: received
states:
  received: {label: 已收件}
  awaiting_correction: {label: 待补正, stops_clock: true}
  under_review: {label: 审查中}
  completed: {label: 已办结, final: true}
transitions:
  request_correction:
    from: received
    to: awaiting_correction
    roles: [window_clerk]
    notices: [correction_requested]
  submit_correction:
    from: awaiting_correction
    to: under_review
    roles: [applicant]
    clock: restart
  accept:
    from: received
    to: under_review
    roles: [window_clerk]
  decide:
    from: under_review
    to: completed
    roles: [department_head]
    notices: [decided]
"""

# BASE with its version keys (lines 3-4) replaced by a `versions` list appended at line 35 on.
VERSIONED_HEAD = "\n".join(line for i, line in enumerate(BASE.splitlines(), 1) if i not in (3, 4))


def edit(text: str, line: int, old: str, new: str) -> str:
    """Replace line ``line`` (1-based), which must read ``old``, by ``new`` (several lines, or none)."""
    lines = text.splitlines()
    assert lines[line - 1] == old, f"line {line} is {lines[line - 1]!r}, not {old!r}"
    lines[line - 1 : line] = new.splitlines()
    return "\n".join(lines) + "\n"


def problems(tmp_path: Path, text: str, name: str = "permit.yaml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    _, found = load_catalogue_files(tmp_path, root=tmp_path)
    return found


# ---------------------------------------------------------------------------------------------
# Problems, each with its file and line


def test_the_base_item_loads_without_problems(tmp_path: Path) -> None:
    assert problems(tmp_path, BASE) == []


def test_yaml_syntax_error_names_the_line_where_parsing_failed(tmp_path: Path) -> None:
    text = edit(BASE, 13, "  under_review: {label: 审查中}", "  under_review: {label: 审查中")

    # The unclosed flow mapping runs on into line 14, where the parser meets the next key's ':'.
    assert problems(tmp_path, text) == ["permit.yaml:14: YAML syntax error: expected ',' or '}', but got ':'"]


def test_duplicate_key_is_reported_at_the_second_occurrence(tmp_path: Path) -> None:
    text = edit(BASE, 2, "name: 测试许可", "name: 测试许可\nname: 另一个名称")

    assert problems(tmp_path, text) == ["permit.yaml:3: duplicate key 'name'"]


def test_unknown_state_in_from_is_reported_on_the_from_line(tmp_path: Path) -> None:
    text = edit(BASE, 27, "    from: received", "    from: recieved")

    assert problems(tmp_path, text) == [
        "permit.yaml:27: transition 'accept': unknown state 'recieved' in 'from'"
    ]


def test_unknown_state_in_to_leaves_the_real_target_unreachable(tmp_path: Path) -> None:
    text = edit(BASE, 32, "    to: completed", "    to: complete")

    assert problems(tmp_path, text) == [
        "permit.yaml:32: transition 'decide': unknown state 'complete' in 'to'",
        "permit.yaml:14: state 'completed' is unreachable from the initial state 'received'",
        "permit.yaml:11: no final state is reachable",
    ]


def test_a_state_no_transition_leads_to_is_unreachable(tmp_path: Path) -> None:
    text = edit(
        BASE,
        14,
        "  completed: {label: 已办结, final: true}",
        "  completed: {label: 已办结, final: true}\n  archived: {label: 已归档, final: true}",
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:15: state 'archived' is unreachable from the initial state 'received'"
    ]


def test_final_state_with_an_outgoing_transition_is_refused(tmp_path: Path) -> None:
    text = edit(BASE, 13, "  under_review: {label: 审查中}", "  under_review: {label: 审查中, final: true}")

    assert problems(tmp_path, text) == ["permit.yaml:13: final state 'under_review' has outgoing transitions"]


def test_non_final_state_without_a_way_out_is_a_dead_end(tmp_path: Path) -> None:
    text = edit(BASE, 14, "  completed: {label: 已办结, final: true}", "  completed: {label: 已办结}")

    assert problems(tmp_path, text) == [
        "permit.yaml:14: state 'completed' is not final but has no outgoing transition",
        "permit.yaml:11: no final state is reachable",
    ]


def test_the_same_item_code_in_two_files_is_reported_on_the_later_file(tmp_path: Path) -> None:
    (tmp_path / "a-permit.yaml").write_text(BASE, encoding="utf-8")

    assert problems(tmp_path, BASE, name="b-permit.yaml") == [
        "b-permit.yaml:1: item code 'permit' is also defined in a-permit.yaml"
    ]


def test_duplicate_version_number_is_reported(tmp_path: Path) -> None:
    text = (
        VERSIONED_HEAD
        + """
versions:
  - version: 1
    effective_from: 2019-01-01
  - version: 1
    effective_from: 2020-01-01
"""
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:36: duplicate version 1",
        "permit.yaml:37: versions must be listed oldest first with increasing effective_from",
    ]


def test_versions_must_be_listed_oldest_first(tmp_path: Path) -> None:
    text = (
        VERSIONED_HEAD
        + """
versions:
  - version: 1
    effective_from: 2020-01-01
  - version: 2
    effective_from: 2019-05-15
"""
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:37: versions must be listed oldest first with increasing effective_from"
    ]


def test_a_limit_unit_other_than_working_or_calendar_is_refused(tmp_path: Path) -> None:
    text = edit(
        BASE, 7, "statutory_limit: {days: 20, unit: working}", "statutory_limit: {days: 20, unit: weeks}"
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:7: statutory_limit: unit must be 'working' or 'calendar', got 'weeks'"
    ]


def test_negative_days_are_refused(tmp_path: Path) -> None:
    text = edit(
        BASE, 8, "promised_limit: {days: 10, unit: working}", "promised_limit: {days: -3, unit: working}"
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:8: promised_limit: days must be a whole number >= 0, got -3"
    ]


def test_promised_limit_longer_than_the_statutory_one_is_refused(tmp_path: Path) -> None:
    text = edit(
        BASE, 8, "promised_limit: {days: 10, unit: working}", "promised_limit: {days: 25, unit: working}"
    )

    assert problems(tmp_path, text) == ["permit.yaml:8: promised_limit is longer than the statutory_limit"]


def test_an_item_without_legal_basis_is_refused(tmp_path: Path) -> None:
    text = edit(BASE, 6, "basis: [《测试条例》第一条]", "description: 没有写依据")

    assert problems(tmp_path, text) == ["permit.yaml:1: missing legal basis ('basis': a list of provisions)"]


def test_an_empty_basis_list_is_reported_on_its_line(tmp_path: Path) -> None:
    text = edit(BASE, 6, "basis: [《测试条例》第一条]", "basis: []")

    assert problems(tmp_path, text) == ["permit.yaml:6: missing legal basis ('basis': a list of provisions)"]


def test_unknown_notice_lists_the_known_ones(tmp_path: Path) -> None:
    text = edit(BASE, 34, "    notices: [decided]", "    notices: [decidded]")

    assert problems(tmp_path, text) == [
        f"permit.yaml:34: transition 'decide': unknown notice 'decidded'; known: {', '.join(sorted(NOTICES))}"
    ]


def test_a_misspelt_state_key_is_an_unknown_key(tmp_path: Path) -> None:
    text = edit(
        BASE,
        12,
        "  awaiting_correction: {label: 待补正, stops_clock: true}",
        "  awaiting_correction: {label: 待补正, stop_clock: true}",
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:12: state 'awaiting_correction': unknown key 'stop_clock'"
    ]


def test_a_misspelt_transition_key_is_reported_with_what_it_leaves_missing(tmp_path: Path) -> None:
    text = edit(BASE, 19, "    roles: [window_clerk]", "    role: [window_clerk]")

    assert problems(tmp_path, text) == [
        "permit.yaml:19: transition 'request_correction': unknown key 'role'",
        "permit.yaml:17: transition 'request_correction': needs at least one role",
    ]


def test_a_misspelt_item_key_is_an_unknown_key(tmp_path: Path) -> None:
    text = edit(BASE, 5, "department: 测试局", "department: 测试局\ndepartmnet: 测试局")

    assert problems(tmp_path, text) == ["permit.yaml:6: item: unknown key 'departmnet'"]


def test_extend_without_extend_days_is_refused(tmp_path: Path) -> None:
    text = (
        BASE
        + """\
  extend:
    from: under_review
    to: under_review
    roles: [department_head]
    clock: extend
"""
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:39: transition 'extend': clock 'extend' needs extend_days > 0"
    ]


def test_extend_days_without_clock_extend_is_refused(tmp_path: Path) -> None:
    text = (
        BASE
        + """\
  extend:
    from: under_review
    to: under_review
    roles: [department_head]
    extend_days: 20
"""
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:39: transition 'extend': extend_days without clock 'extend'"
    ]


def test_entering_a_clock_stopping_state_with_a_contradicting_clock_is_refused(tmp_path: Path) -> None:
    text = edit(BASE, 20, "    notices: [correction_requested]", "    clock: resume")

    # The line is the transition's first key, where its mapping starts.
    assert problems(tmp_path, text) == [
        "permit.yaml:17: transition 'request_correction': "
        "enters clock-stopping state 'awaiting_correction' so clock is 'stop'"
    ]


def test_leaving_a_clock_stopping_state_with_clock_stop_is_refused(tmp_path: Path) -> None:
    text = edit(BASE, 25, "    clock: restart", "    clock: stop")

    assert problems(tmp_path, text) == [
        "permit.yaml:22: transition 'submit_correction': "
        "leaves a clock-stopping state: clock is resume or restart"
    ]


def test_clock_stop_between_running_states_is_refused(tmp_path: Path) -> None:
    text = edit(BASE, 29, "    roles: [window_clerk]", "    roles: [window_clerk]\n    clock: stop")

    assert problems(tmp_path, text) == [
        "permit.yaml:27: transition 'accept': clock 'stop' needs a state with stops_clock"
    ]


def test_a_problem_in_a_later_version_points_into_that_version(tmp_path: Path) -> None:
    text = (
        VERSIONED_HEAD
        + """
versions:
  - version: 1
    effective_from: 2019-01-01
  - version: 2
    effective_from: 2020-01-01
    promised_limit: {days: 10, unit: fortnights}
"""
    )

    assert problems(tmp_path, text) == [
        "permit.yaml:38: promised_limit: unit must be 'working' or 'calendar', got 'fortnights'"
    ]


def test_an_empty_directory_is_a_problem(tmp_path: Path) -> None:
    _, found = load_catalogue_files(tmp_path, root=tmp_path)

    assert found == [f"{tmp_path}:0: no item files (*.yaml) found"]


def test_a_transition_without_from_is_reported_not_a_crash(tmp_path: Path) -> None:
    text = edit(BASE, 27, "    from: received", "    label: 受理")

    assert problems(tmp_path, text) == [
        "permit.yaml:27: transition 'accept': needs 'from' (one state or a list)"
    ]


def test_overriding_a_merged_key_is_not_a_duplicate(tmp_path: Path) -> None:
    text = edit(
        BASE, 13, "  under_review: {label: 审查中}", "  under_review: {<<: {label: 审理}, label: 审查中}"
    )

    assert problems(tmp_path, text) == []


# ---------------------------------------------------------------------------------------------
# What loads


def test_versions_are_merged_over_the_shared_keys(tmp_path: Path) -> None:
    (tmp_path / "permit.yaml").write_text(
        VERSIONED_HEAD
        + """
versions:
  - version: 1
    effective_from: 2019-01-01
  - version: 2
    effective_from: 2020-01-01
    statutory_limit: {days: 30, unit: calendar}
    states:
      under_review: {label: 审查中（新）}
""",
        encoding="utf-8",
    )

    loaded, found = load_catalogue_files(tmp_path, root=tmp_path)
    v1, v2 = (v.item for v in loaded)

    assert found == []
    assert (v1.statutory_limit.days, v1.statutory_limit.unit) == (20, LimitUnit.WORKING)
    assert (v2.statutory_limit.days, v2.statutory_limit.unit) == (30, LimitUnit.CALENDAR)
    assert v1.states["under_review"].label == "审查中"
    assert v2.states["under_review"].label == "审查中（新）"
    assert v2.promised_limit == v1.promised_limit
    assert loaded[0].content_hash != loaded[1].content_hash


def test_clock_effects_are_derived_from_clock_stopping_states(tmp_path: Path) -> None:
    (tmp_path / "permit.yaml").write_text(edit(BASE, 25, "    clock: restart", ""), encoding="utf-8")

    loaded, found = load_catalogue_files(tmp_path, root=tmp_path)
    item = loaded[0].item

    assert found == []
    assert item.transitions["request_correction"].clock is ClockEffect.STOP
    assert item.transitions["submit_correction"].clock is ClockEffect.RESUME
    assert item.transitions["accept"].clock is None


# ---------------------------------------------------------------------------------------------
# The shipped catalogue


@pytest.fixture(scope="module")
def shipped() -> tuple[list, list[str]]:
    return load_catalogue_files(SHIPPED_ITEMS)


def test_the_shipped_catalogue_loads_without_problems(shipped: tuple[list, list[str]]) -> None:
    loaded, found = shipped

    assert found == []
    assert len({v.item.code for v in loaded}) >= 9


def test_every_shipped_item_cites_an_article_or_a_document_number(
    shipped: tuple[list, list[str]],
) -> None:
    for version in shipped[0]:
        item = version.item
        assert any("条" in provision or "〔" in provision for provision in item.basis), item.code
        if item.statutory_limit.unit is item.promised_limit.unit:
            assert item.promised_limit.days <= item.statutory_limit.days, item.code


def test_gov_info_request_version_follows_the_received_date(shipped: tuple[list, list[str]]) -> None:
    catalogue = catalogue_from(v.item for v in shipped[0])

    old = catalogue.in_force("gov-info-request", date(2019, 5, 14))
    new = catalogue.in_force("gov-info-request", date(2019, 5, 15))

    assert (old.version, old.statutory_limit.days, old.statutory_limit.unit) == (1, 15, LimitUnit.WORKING)
    assert old.transitions["extend"].extend_days == 15
    assert (new.version, new.statutory_limit.days, new.statutory_limit.unit) == (2, 20, LimitUnit.WORKING)
    assert new.transitions["extend"].extend_days == 20


def test_in_force_before_the_first_version_is_not_found(shipped: tuple[list, list[str]]) -> None:
    catalogue = catalogue_from(v.item for v in shipped[0])

    with pytest.raises(NotFound, match="was not in force on 2008-04-30"):
        catalogue.in_force("gov-info-request", date(2008, 4, 30))


def test_entering_awaiting_correction_stops_the_clock_without_saying_so(
    shipped: tuple[list, list[str]],
) -> None:
    catalogue = catalogue_from(v.item for v in shipped[0])
    item = catalogue.in_force("gov-info-request", date(2024, 1, 2))

    assert item.states["awaiting_correction"].stops_clock
    assert item.transitions["request_correction"].clock is ClockEffect.STOP
    assert item.transitions["third_party_replied"].clock is ClockEffect.RESUME
    assert item.transitions["submit_correction"].clock is ClockEffect.RESTART


@pytest.mark.parametrize(
    ("code", "statutory", "promised"),
    [
        ("fireworks-retail-licence", (20, LimitUnit.WORKING), (10, LimitUnit.WORKING)),
        ("hazchem-business-licence", (30, LimitUnit.CALENDAR), (10, LimitUnit.WORKING)),
        ("cultural-business-licence", (20, LimitUnit.WORKING), (10, LimitUnit.WORKING)),
        ("legal-aid", (7, LimitUnit.CALENDAR), (5, LimitUnit.CALENDAR)),
        ("emergency-plan-filing", (5, LimitUnit.WORKING), (0, LimitUnit.WORKING)),
        ("hotline-enquiry", (3, LimitUnit.WORKING), (3, LimitUnit.WORKING)),
        ("hotline-complaint", (13, LimitUnit.WORKING), (13, LimitUnit.WORKING)),
    ],
)
def test_shipped_limits_follow_their_basis(
    shipped: tuple[list, list[str]],
    code: str,
    statutory: tuple[int, LimitUnit],
    promised: tuple[int, LimitUnit],
) -> None:
    item = catalogue_from(v.item for v in shipped[0]).latest(code)

    assert (item.statutory_limit.days, item.statutory_limit.unit) == statutory
    assert (item.promised_limit.days, item.promised_limit.unit) == promised


def test_every_correction_request_names_what_to_correct(shipped: tuple[list, list[str]]) -> None:
    for version in shipped[0]:
        for transition in version.item.transitions.values():
            if "correction_requested" in transition.notices:
                assert "corrections" in transition.required_fields(), (version.item.code, transition.name)
                assert version.item.states[transition.target].stops_clock, version.item.code


def test_construction_milestones_publish_milestone_progress_and_investment(
    shipped: tuple[list, list[str]],
) -> None:
    item = catalogue_from(v.item for v in shipped[0]).latest("construction-project")
    milestones = {t.name: t for t in item.transitions.values() if "construction.milestone" in t.triggers}

    assert {"approve", "start_construction", "top_out", "accept_completion"} <= set(milestones)
    for transition in milestones.values():
        assert "milestone" in transition.required_fields(), transition.name
    for name in ("start_construction", "top_out", "accept_completion"):
        assert {"progress_percent", "invested_amount"} <= set(milestones[name].required_fields())


@pytest.mark.parametrize("code", ["hotline-enquiry", "hotline-complaint"])
def test_hotline_work_orders_report_back_to_the_12345_platform(
    shipped: tuple[list, list[str]], code: str
) -> None:
    item = catalogue_from(v.item for v in shipped[0]).latest(code)
    reporting = {t.name for t in item.transitions.values() if "hotline.reply" in t.triggers}

    assert item.notice_channels == ("webhook", "sms")
    assert {"sign", "return_order", "reply", "revisit"} <= reporting
    assert "rating_invitation" in item.transitions["revisit"].notices


def test_a_misspelt_notice_channel_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    text = edit(BASE, 8, "promised_limit: {days: 10, unit: working}",
                "promised_limit: {days: 10, unit: working}\nnotice_channels: [smss, email]")
    assert problems(tmp_path, text) == [
        "permit.yaml:9: unknown notice channel 'smss'; known: email, sandbox, sms, webhook, wechat"
    ]


def test_notice_and_channel_names_of_the_engine_are_those_the_templates_cover() -> None:
    from gkflow.domain import topics
    from notifications import notices

    assert set(notices.NOTICES) == topics.NOTICES
    assert set(notices.CHANNELS) == topics.NOTICE_CHANNELS
