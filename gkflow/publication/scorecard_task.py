"""The published department scorecard (社会评议: results made public): its data and its page. The
rows are computed by the scorecard service and handed to the publication by its flow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gkflow.publication import charts
from gkflow.publication.periods import Period
from gkflow.publication.validation import Column, Schema

ZERO, HUNDRED = Decimal(0), Decimal(100)
SHARES = (
    ("promised_on_time", "承诺时限内办结率（%）"),
    ("satisfaction", "好差评满意率（%）"),
    ("info_requests_on_time", "依申请公开按时答复率（%）"),
    ("directory_on_time", "主动公开按时率（%）"),
)

SCORECARD = Schema(
    columns=(
        Column("period", "考核期间"),
        Column("rank", "排名", "int", minimum=Decimal(1)),
        Column("department", "部门"),
        Column("score", "总分", "decimal", minimum=ZERO, maximum=HUNDRED),
        Column("zeroed", "是否归零", choices=("是", "否")),
        Column("reason", "归零原因", required=False),
        Column("computed", "计算指标得分", "decimal", minimum=ZERO, maximum=HUNDRED),
        Column("manual", "考核项目得分", "decimal", minimum=ZERO, maximum=HUNDRED),
        Column("bonus", "加分", "decimal", minimum=ZERO),
        Column("deduction", "减分", "decimal", minimum=ZERO),
        *(
            Column(key, label, "decimal", required=False, minimum=ZERO, maximum=HUNDRED)
            for key, label in SHARES
        ),
    ),
    key=("department",),
)


def scorecard_context(rows: list[dict[str, Any]], period: Period, history: Any) -> dict[str, Any]:
    """The ranking table and a chart of the scores."""
    ranked = sorted(rows, key=lambda r: r["rank"])
    return {
        "ranked": ranked,
        "shares": SHARES,
        "chart": charts.horizontal_bars(
            f"{period.label} 各部门政务公开考核得分", [(r["department"], r["score"]) for r in ranked], "分"
        ),
    }
