"""The scorecard's computed indicators, per department and period, from gkflow's own records; every
figure keeps the records behind it (cases, ratings, rectifications, publications, notices) so the
page can drill down to them. Definitions are written in config/scorecard.yaml.

A case counts for the department that handled it: its assigned 承办单位 if any, else its item's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from gkflow.db.case_rows import cases_t, events_t
from gkflow.db.models import OutboxRow, table_of
from gkflow.db.web_models import RatingRow, RectificationRow
from gkflow.delivery.outbox import DEAD, DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE
from gkflow.runtime import Runtime
from gkflow.services.openness_ledger import ledger
from gkflow.services.scorecard_config import ScorecardConfig

ratings_t = table_of(RatingRow)
rectifications_t = table_of(RectificationRow)
outbox_t = table_of(OutboxRow)
FAILED_NOTICES = (DEAD, PERMANENT_FAILURE, TECHNICAL_FAILURE)
CHANNEL_WORDS = {
    "sms": "短信",
    "email": "电子邮件",
    "wechat": "微信",
    "webhook": "12345平台",
    "sandbox": "沙箱",
}
STATUS_WORDS = {
    DELIVERED: "已送达",
    DEAD: "投递失败",
    PERMANENT_FAILURE: "投递失败",
    TECHNICAL_FAILURE: "投递失败",
}


@dataclass(frozen=True)
class Record:
    """One record behind a figure: a case, rating, rectification, publication or notice."""

    ref: str
    label: str
    ok: bool
    detail: str
    href: str | None = None


@dataclass
class Measure:
    """``ok`` of ``total`` records met the indicator's definition."""

    records: list[Record] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.records if r.ok)

    @property
    def value(self) -> float | None:
        """The share of records that met it (None when there is nothing to count)."""
        return self.ok / self.total if self.total else None


@dataclass(frozen=True)
class Window:
    """A period as local dates and the UTC instants around them; ``today`` bounds what is known."""

    first_day: date
    last_day: date
    today: date
    start: datetime
    end: datetime

    @classmethod
    def of(cls, rt: Runtime, first_day: date, last_day: date) -> Window:
        tz = rt.settings.tz
        start = datetime.combine(first_day, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return cls(first_day, last_day, rt.local_date(rt.now()), start, end)


Measures = dict[str, dict[str, Measure]]  # department -> indicator -> measure
HANDLER = func.coalesce(cases_t.c.assigned_department, cases_t.c.department)


def _local(rt: Runtime, at: datetime) -> date:
    return rt.local_date(at if at.tzinfo else at.replace(tzinfo=UTC))


def _case_href(case_no: str) -> str:
    return f"/staff/cases/{case_no}"


def _item_names(rt: Runtime) -> dict[str, str]:
    """Item code -> its name, so no code shows on the page."""
    catalogue = rt.catalogue
    return {code: catalogue.latest(code).name for code in catalogue.codes()}


def _closed_cases(rt: Runtime, w: Window, out: Measures) -> None:
    query = select(
        HANDLER.label("dept"),
        cases_t.c.case_no,
        cases_t.c.item_code,
        cases_t.c.closed_at,
        cases_t.c.statutory_due,
        cases_t.c.promised_due,
    ).where(cases_t.c.closed_at >= w.start, cases_t.c.closed_at < w.end)
    with rt.engine.connect() as conn:
        rows = conn.execute(query).all()
    names = _item_names(rt)
    for dept, case_no, item, closed_at, statutory_due, promised_due in rows:
        item = names.get(item, item)
        closed_on = _local(rt, closed_at)
        for key, due in (("statutory_on_time", statutory_due), ("promised_on_time", promised_due)):
            if due is None:
                continue
            ok = closed_on <= due
            out[dept][key].records.append(
                Record(case_no, item, ok, f"办结 {closed_on}，期限 {due}", _case_href(case_no))
            )


def _open_cases(rt: Runtime, w: Window, out: Measures) -> None:
    cutoff = min(w.last_day, w.today)
    end = min(w.end, Window.of(rt, cutoff, cutoff).end)
    query = select(
        HANDLER.label("dept"), cases_t.c.case_no, cases_t.c.item_code, cases_t.c.promised_due
    ).where(cases_t.c.received_at < end, or_(cases_t.c.closed_at.is_(None), cases_t.c.closed_at >= end))
    with rt.engine.connect() as conn:
        rows = conn.execute(query).all()
    names = _item_names(rt)
    for dept, case_no, item, promised_due in rows:
        item = names.get(item, item)
        overdue = promised_due is not None and promised_due < cutoff
        detail = f"承诺期限 {promised_due}" if promised_due else "时限中止"
        # For a lower-is-better share, a record that is "ok" is one that counts against it.
        out[dept]["overdue_open"].records.append(Record(case_no, item, overdue, detail, _case_href(case_no)))


def _ratings(rt: Runtime, w: Window, out: Measures) -> None:
    query = select(
        ratings_t.c.department, ratings_t.c.case_no, ratings_t.c.level, ratings_t.c.bad, ratings_t.c.rated_at
    ).where(ratings_t.c.rated_at >= w.start, ratings_t.c.rated_at < w.end)
    with rt.engine.connect() as conn:
        rows = conn.execute(query).all()
    for dept, case_no, level, bad, rated_at in rows:
        out[dept]["satisfaction"].records.append(
            Record(
                case_no, f"评价 {level} 级", not bad, f"评价于 {_local(rt, rated_at)}", _case_href(case_no)
            )
        )


def _rectifications(rt: Runtime, w: Window, out: Measures) -> None:
    query = select(
        rectifications_t.c.department,
        rectifications_t.c.case_no,
        rectifications_t.c.due_on,
        rectifications_t.c.status,
        rectifications_t.c.closed_at,
    ).where(rectifications_t.c.due_on >= w.first_day, rectifications_t.c.due_on <= w.last_day)
    with rt.engine.connect() as conn:
        rows = conn.execute(query).all()
    for dept, case_no, due_on, status, closed_at in rows:
        closed_on = _local(rt, closed_at) if closed_at else None
        if closed_on is None and due_on >= w.today:
            continue  # still open and not yet due: not decided
        ok = closed_on is not None and closed_on <= due_on
        detail = f"整改期限 {due_on}，" + (f"{closed_on} 整改完毕" if closed_on else "尚未整改")
        out[dept]["rectifications_on_time"].records.append(
            Record(case_no, "已整改" if status == "closed" else "未整改", ok, detail, _case_href(case_no))
        )


def _info_requests(rt: Runtime, w: Window, out: Measures, item: str, answer_state: str) -> None:
    answers = (
        select(events_t.c.case_id, func.min(events_t.c.at).label("answered_at"))
        .where(events_t.c.to_state == answer_state)
        .group_by(events_t.c.case_id)
        .subquery()
    )
    query = (
        select(HANDLER.label("dept"), cases_t.c.case_no, cases_t.c.statutory_due, answers.c.answered_at)
        .select_from(cases_t.outerjoin(answers, answers.c.case_id == cases_t.c.id))
        .where(
            cases_t.c.item_code == item,
            or_(
                and_(answers.c.answered_at >= w.start, answers.c.answered_at < w.end),
                and_(
                    answers.c.answered_at.is_(None),
                    cases_t.c.statutory_due >= w.first_day,
                    cases_t.c.statutory_due <= w.last_day,
                    cases_t.c.statutory_due < w.today,
                ),
            ),
        )
    )
    with rt.engine.connect() as conn:
        rows = conn.execute(query).all()
    name = _item_names(rt).get(item, item)
    for dept, case_no, due, answered_at in rows:
        answered = _local(rt, answered_at) if answered_at else None
        ok = answered is not None and due is not None and answered <= due
        detail = f"法定期限 {due}，" + (f"{answered} 答复" if answered else "逾期未答复")
        out[dept]["info_requests_on_time"].records.append(
            Record(case_no, name, ok, detail, _case_href(case_no))
        )


def _directory(rt: Runtime, w: Window, out: Measures) -> None:
    for row in ledger(rt, today=w.today):
        if not (w.first_day <= row.due_on <= w.last_day):
            continue
        if row.published_on is None and not row.late:
            continue  # open and not yet due
        detail = f"期限 {row.due_on}，" + (f"{row.published_on} 公开" if row.published_on else "尚未公开")
        out[row.department]["directory_on_time"].records.append(
            Record(
                f"{row.entry} {row.subject}",
                row.entry_name,
                bool(row.on_time),
                detail,
                f"/gk/directory/entries/{row.entry}",
            )
        )


def _notices(rt: Runtime, w: Window, out: Measures) -> None:
    query = (
        select(
            HANDLER.label("dept"),
            outbox_t.c.id,
            outbox_t.c.case_no,
            outbox_t.c.topic,
            outbox_t.c.channel,
            outbox_t.c.status,
        )
        .select_from(outbox_t.join(cases_t, cases_t.c.id == outbox_t.c.case_id))
        .where(
            outbox_t.c.kind == "notice",
            outbox_t.c.created_at >= w.start,
            outbox_t.c.created_at < w.end,
            outbox_t.c.status.in_((DELIVERED, *FAILED_NOTICES)),
        )
    )
    with rt.engine.connect() as conn:
        rows = conn.execute(query).all()
    for dept, message_id, case_no, topic, channel, status in rows:
        out[dept]["notices_delivered"].records.append(
            Record(
                f"#{message_id}",
                f"{case_no} {topic}",
                status == DELIVERED,
                f"{CHANNEL_WORDS.get(channel or '', channel)} · {STATUS_WORDS.get(status, status)}",
                _case_href(case_no) if case_no else None,
            )
        )


def compute_measures(rt: Runtime, config: ScorecardConfig, w: Window) -> Measures:
    """Every configured indicator's records, grouped by department."""
    out: Measures = defaultdict(lambda: defaultdict(Measure))
    wanted = {i.key for i in config.indicators}
    info = next((i for i in config.indicators if i.key == "info_requests_on_time"), None)
    steps: list[tuple[set[str], Callable[[], Any]]] = [
        ({"statutory_on_time", "promised_on_time"}, lambda: _closed_cases(rt, w, out)),
        ({"overdue_open"}, lambda: _open_cases(rt, w, out)),
        ({"satisfaction"}, lambda: _ratings(rt, w, out)),
        ({"rectifications_on_time"}, lambda: _rectifications(rt, w, out)),
        (
            {"info_requests_on_time"},
            lambda: _info_requests(rt, w, out, info.item, info.answer_state) if info else None,
        ),
        ({"directory_on_time"}, lambda: _directory(rt, w, out)),
        ({"notices_delivered"}, lambda: _notices(rt, w, out)),
    ]
    for keys, step in steps:
        if keys & wanted:
            step()
    return out
