"""The department scorecard from a seeded month, with every expected figure counted by hand here;
zeroing after a forged event; manual entries hash-chained like case history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from gkflow.clock import FixedClock
from gkflow.delivery import outbox
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.services.licence_publicity import consume_licence_decisions
from gkflow.services.ratings import close_rectification, rate_case, rectifications
from gkflow.services.scorecard import compute_scorecard
from gkflow.services.scorecard_config import ScorecardConfig, load_scorecard_config
from gkflow.services.scorecard_entries import ManualEntry, record_entry

GOV = "格尔木市人民政府办公室"
SAFETY = "格尔木市应急管理局"
GOV_CLERK, GOV_HANDLER = Actor("li", "window_clerk", GOV), Actor("zhao", "handler", GOV)
SAFETY_CLERK, SAFETY_HEAD = Actor("ma", "window_clerk", SAFETY), Actor("wang", "department_head", SAFETY)


DISCLOSED = "予以公开（提供信息或告知获取的方式、途径和时间）"  # a typed choice since 2026-12-01


def december_entry(rt: Runtime, config: ScorecardConfig, **entry: str) -> ManualEntry:
    """An administrator's entry for the government office in December 2026."""
    return record_entry(rt, config, department=GOV, period="2026-12", actor="admin", **entry)


def at(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC) - timedelta(hours=8)  # Asia/Shanghai


def step(
    rt: Runtime, clock: FixedClock, when: str, case_no: str, action: str, actor: Actor, **fields: str
) -> None:
    clock.set(at(when))
    fire(rt, case_no, action, actor, fields=fields)


def info_request(rt: Runtime, clock: FixedClock, received: str) -> tuple[str, str]:
    clock.set(at(received))
    s = submit_case(
        rt,
        "gov-info-request",
        Applicant("王小明", "13912345678"),
        fields={"requested_information": "2026年财政预算"},
    )
    step(rt, clock, received[:10] + "T10:00", s.case_no, "accept", GOV_CLERK)
    return s.case_no, s.query_code


def seed_december(rt: Runtime, clock: FixedClock) -> dict[str, str]:
    # 政府办 (依申请公开): one answered on time, one answered late, one never answered.
    on_time, on_time_code = info_request(rt, clock, "2026-12-01T09:00")  # statutory due 12-29, promised 12-22
    late, late_code = info_request(rt, clock, "2026-11-02T09:00")  # statutory due 11-30, promised 11-23
    unanswered, _ = info_request(rt, clock, "2026-12-01T09:30")  # due 12-29, open at the month's end
    step(rt, clock, "2026-12-10T10:00", on_time, "decide", GOV_HANDLER, outcome=DISCLOSED)
    step(rt, clock, "2026-12-11T10:00", on_time, "deliver", GOV_CLERK)
    step(rt, clock, "2026-12-15T10:00", late, "decide", GOV_HANDLER, outcome=DISCLOSED)
    step(rt, clock, "2026-12-16T10:00", late, "deliver", GOV_CLERK)
    clock.set(at("2026-12-12T10:00"))
    rate_case(rt, on_time, on_time_code, 5)
    clock.set(at("2026-12-17T10:00"))
    rate_case(rt, late, late_code, 1, "答复太慢")  # rectification due 5 working days later: 12-24
    (rectification,) = rectifications(rt)
    clock.set(at("2026-12-23T15:00"))
    close_rectification(
        rt,
        rectification["id"],
        user="zhao",
        department=GOV,
        is_admin=False,
        resolution="已电话回访并说明延误原因",
    )
    # 应急管理局: one fireworks licence granted, published and delivered on time.
    clock.set(at("2026-12-02T09:00"))
    licence = submit_case(
        rt,
        "fireworks-retail-licence",
        Applicant("格尔木市昆仑烟花销售店", "13800000000"),
        fields={"shop_address": "昆仑路8号", "sales_mode": "专店"},
    ).case_no
    step(rt, clock, "2026-12-02T10:00", licence, "accept", SAFETY_CLERK)
    step(
        rt,
        clock,
        "2026-12-07T10:00",
        licence,
        "approve",
        SAFETY_HEAD,
        licence_no="YH2026-01",
        storage_limit="300箱",
        valid_until="2027-12-31",
    )
    clock.set(at("2026-12-08T10:00"))
    consume_licence_decisions(rt)
    step(rt, clock, "2026-12-08T11:00", licence, "issue_certificate", SAFETY_CLERK)
    step(rt, clock, "2026-12-09T10:00", licence, "deliver", SAFETY_CLERK)
    return {"on_time": on_time, "late": late, "unanswered": unanswered, "licence": licence}


def deliver_notices(rt: Runtime, fail_case: str) -> dict[str, tuple[int, int]]:
    """Every notice delivered but the first of ``fail_case`` (dead); department -> (ok, total) of
    the notices made in December."""
    claimed = outbox.claim(rt, worker="test", kind="notice", limit=1000)
    counts: dict[str, list[int]] = {}
    failed = False
    for message in claimed:
        dept = (
            SAFETY
            if message.case_no and message.payload.get("item_code") == "fireworks-retail-licence"
            else GOV
        )
        ok = not (message.case_no == fail_case and not failed)
        failed = failed or not ok
        if ok:
            outbox.mark_delivered(rt, message.id, "test", provider_ref="x")
        else:
            outbox.mark_failed(rt, message.id, "test", status=outbox.DEAD, error="gateway refused")
        created = message.created_at if message.created_at.tzinfo else message.created_at.replace(tzinfo=UTC)
        if created < at("2026-12-01T00:00"):
            continue  # made in November: not December's
        counts.setdefault(dept, [0, 0])
        counts[dept][0] += int(ok)
        counts[dept][1] += 1
    return {d: (ok, total) for d, (ok, total) in counts.items()}


def test_indicators_of_a_seeded_month_match_the_hand_count(rt: Runtime, clock: FixedClock) -> None:
    cases = seed_december(rt, clock)
    notices = deliver_notices(rt, cases["on_time"])
    config = load_scorecard_config(rt.settings)
    clock.set(at("2027-01-05T09:00"))
    december_entry(
        rt,
        config,
        kind="manual",
        item="organisation",
        points="4",
        reason="领导小组已建立",
        evidence="格政办〔2026〕1号",
    )
    december_entry(
        rt, config, kind="manual", item="rules", points="3.5", reason="制度基本健全", evidence="制度汇编"
    )
    december_entry(
        rt,
        config,
        kind="manual",
        item="organisation",
        points="5",
        reason="补充材料后复核",
        evidence="会议纪要",
    )  # replaces the 4
    for points in ("2", "4"):
        december_entry(
            rt,
            config,
            kind="bonus",
            points=points,
            reason="省级媒体正面报道",
            evidence="https://example.org/news",
        )
    december_entry(
        rt, config, kind="deduction", points="1", reason="未按要求报送材料", evidence="通报〔2026〕3号"
    )

    card = compute_scorecard(rt, "2026-12", with_records=True)
    by = {d.department: d for d in card.departments}
    gov, safety = by[GOV], by[SAFETY]
    figures = {k: (i.ok, i.total) for k, i in gov.indicators.items()}
    # Closed in December: the on-time answer (closed 12-11, due 12-29 / 12-22) and the late one
    # (closed 12-16, due 11-30 / 11-23).
    assert figures["statutory_on_time"] == (1, 2)
    assert figures["promised_on_time"] == (1, 2)
    # Open at 12-31: only the unanswered request, past its promised 12-22: 1 overdue of 1.
    assert figures["overdue_open"] == (1, 1)
    assert figures["satisfaction"] == (1, 2)  # a 5 and a 1
    assert figures["rectifications_on_time"] == (1, 1)  # due 12-24, closed 12-23
    # Answered in December: on time (12-10 ≤ 12-29) and late (12-15 > 11-30); unanswered, due 12-29.
    assert figures["info_requests_on_time"] == (1, 3)
    assert figures["directory_on_time"] == (0, 0)  # the annual report is due in January
    assert figures["notices_delivered"] == notices[GOV]
    n_ok, n_total = notices[GOV]
    assert n_total - n_ok == 1
    # Applicable weights: 10 + 10 + 5 + 10 + 5 + 10 + 5 = 55 of the 65 computed points.
    raw = (
        10 * 0.5
        + 10 * 0.5
        + 5 * 0
        + 10 * min(1, 0.5 / 0.98)
        + 5 * 1
        + 10 * (1 / 3)
        + 5 * min(1, (n_ok / n_total) / 0.98)
    )
    computed = 65 / 55 * raw
    assert gov.computed == pytest.approx(computed, abs=0.05)
    assert (gov.manual, gov.bonus, gov.deduction) == (8.5, 5.0, 1.0)  # 5 + 3.5; 2 + 4 capped at 5
    assert gov.score == pytest.approx(round(computed + 8.5 + 5 - 1, 1), abs=0.05)
    assert not gov.zeroed

    # 应急管理局: closed on time, its licence published on time, every notice delivered.
    assert {k: (i.ok, i.total) for k, i in safety.indicators.items() if i.applicable} == {
        "statutory_on_time": (1, 1),
        "promised_on_time": (1, 1),
        "directory_on_time": (1, 1),
        "notices_delivered": notices[SAFETY],
    }
    assert safety.computed == 65.0 and safety.score == 65.0
    assert [d.department for d in card.departments][:2] == [GOV, SAFETY] or gov.score < 65
    records = card.records[GOV]["info_requests_on_time"]
    assert {r["ref"]: r["ok"] for r in records} == {
        cases["on_time"]: True,
        cases["late"]: False,
        cases["unanswered"]: False,
    }
    assert card.public_dict()["departments"][0].keys() >= {
        "department",
        "score",
        "zeroed",
        "reason",
        "indicators",
    }


def test_a_forged_event_zeroes_the_department_that_handled_the_case(rt: Runtime, clock: FixedClock) -> None:
    cases = seed_december(rt, clock)
    clock.set(at("2027-01-05T09:00"))
    assert not any(d.zeroed for d in compute_scorecard(rt, "2026-12").departments)
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update_delete ON events"))
        conn.execute(
            text(
                "UPDATE events SET at = :at WHERE seq = 3 AND case_id = "
                "(SELECT id FROM cases WHERE case_no = :no)"
            ),
            {"at": at("2026-12-03T10:00"), "no": cases["licence"]},
        )
    card = compute_scorecard(rt, "2026-12")
    by = {d.department: d for d in card.departments}
    assert by[SAFETY].zeroed and by[SAFETY].score == 0.0
    assert cases["licence"] in (by[SAFETY].reason or "") and "校验失败" in (by[SAFETY].reason or "")
    assert not by[GOV].zeroed
    assert card.departments[-1].department == SAFETY  # zeroed departments rank last
    # A period the forged case was not active in is not zeroed for it.
    assert not {d.department: d for d in compute_scorecard(rt, "2026-11").departments}[SAFETY].zeroed


def test_manual_entries_are_chained_and_a_rewritten_one_zeroes_its_department(
    rt: Runtime, clock: FixedClock
) -> None:
    config = load_scorecard_config(rt.settings)
    clock.set(at("2026-12-20T09:00"))
    first = december_entry(
        rt, config, kind="manual", item="platforms", points="4", reason="网站集约化完成", evidence="验收报告"
    )
    second = december_entry(rt, config, kind="bonus", points="1", reason="通报表扬", evidence="通报")
    assert (first.seq, second.seq) == (1, 2)
    with pytest.raises(InvalidInput):
        december_entry(
            rt, config, kind="manual", item="platforms", points="6", reason="超出满分", evidence="x"
        )
    with pytest.raises(InvalidInput):
        december_entry(rt, config, kind="bonus", points="1", reason="无佐证")
    with pytest.raises(Exception, match="append-only"), rt.engine.begin() as conn:
        conn.execute(text("UPDATE scorecard_entries SET points = '5' WHERE seq = 1"))
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER scorecard_entries_no_update"))
        else:
            conn.execute(text("DROP TRIGGER scorecard_entries_no_update_delete ON scorecard_entries"))
        conn.execute(text("UPDATE scorecard_entries SET points = '5' WHERE seq = 1"))
    gov = {d.department: d for d in compute_scorecard(rt, "2026-12").departments}[GOV]
    assert gov.zeroed and "考核评分记录校验失败" in (gov.reason or "")


def test_a_period_must_be_a_month_quarter_or_year_that_has_started(rt: Runtime, clock: FixedClock) -> None:
    clock.set(at("2026-12-20T09:00"))
    for bad in ("2026-13", "2026-Q5", "26", "2027-01"):
        with pytest.raises(InvalidInput):
            compute_scorecard(rt, bad)
    assert compute_scorecard(rt, "2026-Q4").partial is True
    assert compute_scorecard(rt, "2025").first_day == date(2025, 1, 1)


def test_the_month_s_scorecard_is_published_on_the_site_by_its_flow_s_rows(
    sqlite_rt: Runtime, clock: FixedClock
) -> None:
    from flows.publication import computed_rows
    from flows.runtime import use_runtime
    from gkflow.publication.config import load_publication_config
    from gkflow.publication.service import publish_task_period

    seed_december(sqlite_rt, clock)
    clock.set(at("2027-01-03T09:00"))  # the schedule's day: 09:00 on the 3rd
    use_runtime(sqlite_rt)
    try:
        rows = computed_rows("scorecard-monthly", "2026-12")
    finally:
        use_runtime(None)
    assert rows is not None and computed_rows("fiscal-monthly", "2026-12") is None
    (outcome,) = publish_task_period(sqlite_rt, "scorecard-monthly", "2026-12", rows=rows, trigger="schedule")
    assert outcome.status == "published" and outcome.to_dict(sqlite_rt)["on_time"] is True
    site = load_publication_config(sqlite_rt.settings).site_dir
    page = (site / "scorecard-monthly" / "2026-12" / "current" / "index.html").read_text(encoding="utf-8")
    assert "政务公开考核结果" in page and GOV in page and "<svg" in page
    # Without the flow's rows there is nothing to read: a clear failure, nothing published.
    (failed,) = publish_task_period(sqlite_rt, "scorecard-monthly", "2026-11")
    assert failed.status == "failed" and "computed by gkflow" in failed.reasons[0]
