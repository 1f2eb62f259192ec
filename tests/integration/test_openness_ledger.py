"""The directory's ledger on real databases: a licence decision opens its row and its publication
closes it (on time and late), departments record periodic and on-change publications."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from gkflow.clock import FixedClock
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict, Forbidden, InvalidInput
from gkflow.publication.config import load_publication_config
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.services.licence_publicity import consume_licence_decisions, due_licence_decisions
from gkflow.services.openness_ledger import ledger
from gkflow.services.openness_records import record_publication

SAFETY = "格尔木市应急管理局"
HEAD = Actor("wang", "department_head", SAFETY)
CLERK = Actor("li", "window_clerk", SAFETY)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=8)  # Asia/Shanghai


def granted_fireworks(
    rt: Runtime, *, received: str, decided: str, name: str = "格尔木市昆仑烟花销售店"
) -> str:
    # Each step is entered when it happens (a step entered later would be a back-dated 补录).
    clock = rt.clock
    assert isinstance(clock, FixedClock)
    now = clock.now()
    clock.set(at(received))
    case_no = submit_case(
        rt,
        "fireworks-retail-licence",
        Applicant(name, "13912345678", "630102199001011235"),
        fields={"shop_address": "格尔木市昆仑路8号", "sales_mode": "专店"},
    ).case_no
    clock.set(at(received) + timedelta(hours=1))
    fire(rt, case_no, "accept", CLERK)
    clock.set(at(decided))
    fire(
        rt,
        case_no,
        "approve",
        HEAD,
        fields={"licence_no": "(青)YH零售[2026]0101", "storage_limit": "300箱", "valid_until": "2027-12-31"},
    )
    clock.set(now)
    return case_no


def test_a_licence_decision_opens_a_row_due_in_7_working_days_and_publishing_closes_it_on_time(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2026-12-08T10:00"))
    case_no = granted_fireworks(rt, received="2026-12-02T09:00", decided="2026-12-07T16:00")
    assert due_licence_decisions(rt) == 1
    done = consume_licence_decisions(rt)
    assert [d["status"] for d in done] == ["published"]
    assert done[0]["due_on"] == "2026-12-16"  # 7 working days after Monday 7 December
    rows = [r for r in ledger(rt, entry="fireworks-licences")]
    assert len(rows) == 1
    row = rows[0]
    assert (row.subject, row.formed_on, row.due_on, row.published_on) == (
        case_no,
        date(2026, 12, 7),
        date(2026, 12, 16),
        date(2026, 12, 8),
    )
    assert row.on_time is True and row.late is False
    site = load_publication_config(rt.settings).site_dir / "xzxk"
    page = (site / "index.html").read_text(encoding="utf-8")
    feed = json.loads((site / "data.json").read_text(encoding="utf-8"))
    assert "格尔木市昆仑烟花销售店" in page and "(青)YH零售[2026]0101" in page
    assert case_no not in page and "13912345678" not in page and "630102199001011235" not in page
    assert feed["decisions"][0]["licence_no"] == "(青)YH零售[2026]0101"
    assert due_licence_decisions(rt) == 0
    assert consume_licence_decisions(rt) == []  # nothing left, nothing published twice


def test_a_decision_published_after_its_seven_working_days_is_late_and_a_person_is_masked(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2026-12-02T09:00"))
    granted_fireworks(rt, received="2026-12-01T09:00", decided="2026-12-02T11:00", name="张三丰")
    clock.set(at("2026-12-14T09:00"))  # the consumer was down: 8 working days later
    consume_licence_decisions(rt)
    (row,) = ledger(rt, entry="fireworks-licences")
    assert row.due_on == date(2026, 12, 11) and row.published_on == date(2026, 12, 14)
    assert row.on_time is False and row.late is True
    page = (load_publication_config(rt.settings).site_dir / "xzxk" / "index.html").read_text(encoding="utf-8")
    assert "张**" in page and "张三丰" not in page


def test_a_licence_trigger_waits_in_the_outbox_and_opens_no_row_until_consumed(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2026-12-02T09:00"))
    granted_fireworks(rt, received="2026-12-01T09:00", decided="2026-12-02T11:00")
    assert ledger(rt, entry="fireworks-licences") == []  # the trigger waits in the outbox, no row yet
    clock.set(at("2026-12-14T09:00"))
    assert due_licence_decisions(rt) == 1


def test_a_licence_received_before_the_entry_took_effect_writes_no_trigger(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2026-11-30T09:00"))
    granted_fireworks(rt, received="2026-11-20T09:00", decided="2026-11-30T08:00")
    assert due_licence_decisions(rt) == 0  # item version 1: no licence.granted trigger


def test_a_fresh_install_owes_nothing_overdue(rt: Runtime, clock: FixedClock) -> None:
    clock.set(at("2026-12-06T09:00"))
    assert [r for r in ledger(rt) if r.late] == []


def test_a_department_records_a_quarter_on_time_and_a_periodic_row_nobody_recorded_is_late(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2027-04-30T10:00"))
    owed = {r.subject: r for r in ledger(rt, entry="sampling-results")}
    assert list(owed) == ["2026-Q4", "2027-Q1"]  # from the entry's effective date (2026-12-01) on
    assert owed["2026-Q4"].late is True and owed["2026-Q4"].id is None
    row = record_publication(
        rt,
        "sampling-results",
        "2027-Q1",
        published_on=date(2027, 4, 20),
        url="https://www.geermu.gov.cn/xxgk/cj/2027q1.html",
        user="ma",
        department="格尔木市市场监督管理局",
        is_admin=False,
        evidence=("截图.png", "a" * 64),
    )
    assert row.on_time is True and row.due_on >= date(2027, 4, 20) and row.id is not None
    with pytest.raises(Conflict):
        record_publication(
            rt,
            "sampling-results",
            "2027-Q1",
            published_on=date(2027, 4, 20),
            url="https://example.org/x",
            user="ma",
            department="格尔木市市场监督管理局",
            is_admin=False,
        )


def test_recording_refuses_another_department_a_future_period_an_automated_entry_and_a_bad_url(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2027-04-30T10:00"))
    common = {"published_on": date(2027, 4, 20), "user": "x", "is_admin": False}
    with pytest.raises(Forbidden):
        record_publication(
            rt, "sampling-results", "2027-Q1", url="https://e.org/", department=SAFETY, **common
        )
    with pytest.raises(InvalidInput):
        record_publication(
            rt,
            "sampling-results",
            "2027-Q2",
            url="https://e.org/",
            department="格尔木市市场监督管理局",
            **common,
        )
    with pytest.raises(InvalidInput):
        record_publication(
            rt,
            "fireworks-licences",
            "x",
            url="https://e.org/",
            department=SAFETY,
            formed_on=date(2027, 4, 1),
            **common,
        )
    with pytest.raises(InvalidInput):
        record_publication(
            rt,
            "consumer-warnings",
            "春节消费提示",
            url="ftp://e.org/",
            department="格尔木市市场监督管理局",
            formed_on=date(2027, 1, 20),
            **common,
        )
    assert [r for r in ledger(rt, entry="consumer-warnings")] == []  # nothing half-written


def test_an_on_change_publication_is_due_20_working_days_after_the_change(
    rt: Runtime, clock: FixedClock
) -> None:
    clock.set(at("2027-03-31T10:00"))
    row = record_publication(
        rt,
        "consumer-warnings",
        "春节食品消费提示",
        formed_on=date(2027, 1, 20),
        published_on=date(2027, 3, 1),
        url="https://e.org/a",
        user="ma",
        department="格尔木市市场监督管理局",
        is_admin=False,
    )
    assert row.formed_on == date(2027, 1, 20) and row.late is True  # 20 working days passed by 1 March
