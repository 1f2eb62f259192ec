"""The annual report's tables on applications (依申请公开), computed from gkflow's own cases."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from gkflow.db.models import CaseRow, EventRow, table_of
from gkflow.publication.periods import Period
from gkflow.publication.sources import SourceData
from gkflow.publication.tasks import ANNUAL_TOTALS
from gkflow.runtime import Runtime

cases_t = table_of(CaseRow)
events_t = table_of(EventRow)

CHANNELS = {"window": "当面申请", "online": "网络申请", "post": "信函申请", "fax": "传真申请"}
# The kinds of reply of 条例 Art. 36/37. Since the typed item versions (issue 9) the outcome is a
# choice whose text adds an explanation in brackets: "予以公开（提供信息或…）" counts as 予以公开.
OUTCOMES = ("予以公开", "部分公开", "不予公开", "信息不存在", "非本机关负责公开", "已主动公开", "重复申请",
            "依照有关法律、行政法规办理")
OTHER_CHANNEL, OTHER_OUTCOME = "其他形式", "其他处理"
ABANDONED, CARRIED_OVER = "视为放弃申请", "结转下年度继续办理"
ON_TIME, LATE_ANSWERED, LATE_OPEN = "按期办理", "逾期答复", "逾期未答复"


def annual_rows(rt: Runtime, item_code: str, period: Period) -> SourceData:
    """Cases of ``item_code`` received in the year, their outcome and timeliness as of 31 December."""
    year_end = datetime.combine(period.last_day, time.max, tzinfo=rt.settings.tz).astimezone(UTC)
    with rt.engine.connect() as conn:
        cases = conn.execute(
            select(cases_t.c.id, cases_t.c.intake_channel, cases_t.c.statutory_due).where(
                cases_t.c.item_code == item_code,
                cases_t.c.received_on >= period.first_day, cases_t.c.received_on <= period.last_day,
            )
        ).all()
        ids = [c.id for c in cases]
        endings: dict[int, tuple[str, Any, str]] = {}
        if ids:
            for ev in conn.execute(
                select(events_t.c.case_id, events_t.c.action, events_t.c.at, events_t.c.fields)
                .where(events_t.c.case_id.in_(ids), events_t.c.action.in_(("decide", "abandon")),
                       events_t.c.at <= year_end)
                .order_by(events_t.c.seq)
            ):
                endings.setdefault(ev.case_id, (ev.action, ev.at, ev.fields))
    channels: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    timeliness: Counter[str] = Counter()
    for case in cases:
        channels[CHANNELS.get(case.intake_channel, OTHER_CHANNEL)] += 1
        due: date | None = case.statutory_due
        ending = endings.get(case.id)
        if ending is None:
            outcomes[CARRIED_OVER] += 1
            timeliness[LATE_OPEN if due is not None and due < period.last_day else ON_TIME] += 1
            continue
        action, at, fields = ending
        if action == "abandon":
            outcomes[ABANDONED] += 1
            timeliness[ON_TIME] += 1
            continue
        outcome = str(json.loads(fields or "{}").get("outcome", "")).strip().split("（", 1)[0]
        outcomes[outcome if outcome in OUTCOMES else OTHER_OUTCOME] += 1
        answered_on = rt.local_date(at if at.tzinfo else at.replace(tzinfo=UTC))
        timeliness[LATE_ANSWERED if due is not None and answered_on > due else ON_TIME] += 1
    rows: list[dict[str, Any]] = []
    for table, items, counter in (
        ("收到申请", (*CHANNELS.values(), OTHER_CHANNEL), channels),
        ("办理结果", (*OUTCOMES, OTHER_OUTCOME, ABANDONED, CARRIED_OVER), outcomes),
        ("办理时效", (ON_TIME, LATE_ANSWERED, LATE_OPEN), timeliness),
    ):
        rows += [{"table": table, "item": item, "count": str(counter[item])} for item in items]
        rows.append({"table": table, "item": ANNUAL_TOTALS.marker, "count": str(sum(counter.values()))})
    return SourceData(rows, f"gkflow cases of {item_code} received in {period.label}")
