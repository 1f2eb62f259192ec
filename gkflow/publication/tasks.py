"""The publication tasks (主动公开任务): what each one's data looks like and what its page shows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gkflow.domain.errors import InvalidInput
from gkflow.publication import charts
from gkflow.publication.periods import Cadence, Period, parse_period
from gkflow.publication.scorecard_task import SCORECARD, scorecard_context
from gkflow.publication.validation import Column, Schema, Totals, detail_rows

History = Callable[[Period], list[dict[str, Any]] | None]
ZERO = Decimal(0)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    cadences: tuple[Cadence, ...]  # the first is the scheduled one
    schema: Schema
    template: str
    build_context: Callable[[list[dict[str, Any]], Period, History], dict[str, Any]]
    per_subject: bool = False  # one publication per subject (construction project)

    @property
    def cadence(self) -> Cadence:
        return self.cadences[0]

    def parse_period(self, text: str) -> Period:
        for cadence in self.cadences:
            try:
                return parse_period(cadence, text)
            except InvalidInput:
                continue
        kinds = " or ".join(c.value for c in self.cadences)
        raise InvalidInput(f"'{text}' is not a {kinds} period of {self.name}")


# -- fiscal-monthly: 财政收支执行情况 -----------------------------------------------------------

FISCAL_TOTALS = Totals(marker_column="code", summed=("amount_month", "amount_ytd"), group_by="kind")
FISCAL = Schema(
    columns=(
        Column("period", "期间"),
        Column("kind", "收支", choices=("收入", "支出")),
        Column("code", "科目编码"),
        Column("name", "科目名称"),
        Column("amount_month", "本月数（万元）", "decimal"),
        Column("amount_ytd", "累计数（万元）", "decimal"),
        Column("budget", "年初预算数（万元）", "decimal", required=False, minimum=ZERO),
    ),
    key=("kind", "code"),
    totals=FISCAL_TOTALS,
)


def _fiscal_totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    totals = {kind: {"month": ZERO, "ytd": ZERO, "budget": ZERO} for kind in ("收入", "支出")}
    for row in rows:
        if row["code"] == FISCAL_TOTALS.marker:
            totals[row["kind"]] = {"month": row["amount_month"], "ytd": row["amount_ytd"],
                                   "budget": row.get("budget") or ZERO}
    return totals


def fiscal_context(rows: list[dict[str, Any]], period: Period, history: History) -> dict[str, Any]:
    totals = _fiscal_totals(rows)
    months, revenue, expenditure = [], [], []
    for month in range(1, period.first_day.month + 1):
        earlier = parse_period(Cadence.MONTHLY, f"{period.first_day.year:04d}-{month:02d}")
        month_rows = rows if earlier == period else history(earlier)
        if not month_rows:
            continue  # a month whose source is gone is left out of the chart, not drawn as zero
        month_totals = _fiscal_totals(month_rows)
        months.append(f"{month}月")
        revenue.append(month_totals["收入"]["month"])
        expenditure.append(month_totals["支出"]["month"])
    execution = {
        kind: (t["ytd"] / t["budget"] * 100).quantize(Decimal("0.1")) if t["budget"] else None
        for kind, t in totals.items()
    }
    details = detail_rows(FISCAL_TOTALS, rows)
    return {
        "totals": totals,
        "execution": execution,
        "revenue_rows": [r for r in details if r["kind"] == "收入"],
        "expenditure_rows": [r for r in details if r["kind"] == "支出"],
        "chart": charts.grouped_bars(f"{period.first_day.year}年各月一般公共预算收支", months,
                                     {"收入": revenue, "支出": expenditure}, "万元"),
    }


# -- land-quarterly: 土地供应情况 -------------------------------------------------------------

LAND_USES = ("住宅用地", "商服用地", "工矿仓储用地", "公共管理与公共服务用地", "交通运输用地", "其他用地")
LAND_TOTALS = Totals(marker_column="parcel_no", summed=("area_ha", "price_wan"))


def _contract_in_quarter(rows: list[dict[str, Any]], period: Period) -> list[str]:
    return [
        f"parcel {r['parcel_no']}: contract date {r['contract_date']} is outside {period.label}"
        for r in detail_rows(LAND_TOTALS, rows)
        if r.get("contract_date") and not period.contains(r["contract_date"])
    ]


LAND = Schema(
    columns=(
        Column("period", "季度"),
        Column("parcel_no", "宗地编号"),
        Column("location", "土地位置"),
        Column("land_use", "土地用途", choices=LAND_USES),
        Column("supply_method", "供应方式", choices=("招标", "拍卖", "挂牌", "协议", "划拨")),
        Column("area_ha", "面积（公顷）", "decimal", minimum=ZERO),
        Column("price_wan", "成交价款（万元）", "decimal", required=False, minimum=ZERO),
        Column("contract_date", "合同签订（划拨决定）日期", "date"),
    ),
    key=("parcel_no",),
    totals=LAND_TOTALS,
    checks=(_contract_in_quarter,),
)


def land_context(rows: list[dict[str, Any]], period: Period, history: History) -> dict[str, Any]:
    details = detail_rows(LAND_TOTALS, rows)
    by_use: dict[str, Decimal] = defaultdict(Decimal)
    by_method: dict[str, Decimal] = defaultdict(Decimal)
    for row in details:
        by_use[row["land_use"]] += row["area_ha"]
        by_method[row["supply_method"]] += row["area_ha"]
    total_area = sum((r["area_ha"] for r in details), ZERO)
    total_price = sum((r.get("price_wan") or ZERO for r in details), ZERO)
    return {
        "parcels": details,
        "total_area": total_area,
        "total_price": total_price,
        "by_use": sorted(by_use.items(), key=lambda kv: -kv[1]),
        "by_method": sorted(by_method.items(), key=lambda kv: -kv[1]),
        "chart": charts.horizontal_bars(f"{period.label} 各用途土地供应面积",
                                        sorted(by_use.items(), key=lambda kv: -kv[1]), "公顷"),
    }


# -- construction-progress: 政府投资重点项目实施情况 ------------------------------------------


def _investment_consistent(rows: list[dict[str, Any]], period: Period) -> list[str]:
    reasons = []
    for r in rows:
        if r["invested_to_date"] > r["total_investment"]:
            reasons.append(f"project {r['project_code']}: invested to date {r['invested_to_date']} "
                           f"exceeds the total investment {r['total_investment']}")
        if r.get("invested_month") is not None and r["invested_month"] > r["invested_to_date"]:
            reasons.append(f"project {r['project_code']}: invested this month {r['invested_month']} "
                           f"exceeds invested to date {r['invested_to_date']}")
    return reasons


CONSTRUCTION = Schema(
    columns=(
        Column("period", "期间"),
        Column("project_code", "项目代码"),
        Column("project_name", "项目名称"),
        Column("building_unit", "建设单位"),
        Column("total_investment", "计划总投资（万元）", "decimal", minimum=ZERO),
        Column("invested_month", "本月完成投资（万元）", "decimal", required=False, minimum=ZERO),
        Column("invested_to_date", "累计完成投资（万元）", "decimal", minimum=ZERO),
        Column("progress_pct", "形象进度（%）", "decimal", minimum=ZERO, maximum=Decimal(100)),
        Column("milestone", "重要节点", required=False),
        Column("note", "建设内容及存在问题", required=False),
    ),
    key=("project_code",),
    checks=(_investment_consistent,),
)


def construction_context(rows: list[dict[str, Any]], period: Period, history: History) -> dict[str, Any]:
    project = rows[0]
    share = (project["invested_to_date"] / project["total_investment"] * 100
             if project["total_investment"] else ZERO)
    return {
        "project": project,
        "is_milestone": period.cadence is Cadence.EVENT,
        "investment_share": share.quantize(Decimal("0.1")),
        "progress_chart": charts.progress_bar("形象进度", project["progress_pct"]),
        "investment_chart": charts.progress_bar("累计完成投资占计划总投资", share),
    }


# -- disclosure-annual: 政府信息公开工作年度报告（依申请公开部分） ----------------------------

ANNUAL_TOTALS = Totals(marker_column="item", summed=("count",), group_by="table")
ANNUAL_TABLES = ("收到申请", "办理结果", "办理时效")


def _tables_agree(rows: list[dict[str, Any]], period: Period) -> list[str]:
    totals = {r["table"]: r["count"] for r in rows if r["item"] == ANNUAL_TOTALS.marker}
    received = totals.get(ANNUAL_TABLES[0])
    return [f"{table} 合计 {totals.get(table)} differs from {ANNUAL_TABLES[0]} 合计 {received}"
            for table in ANNUAL_TABLES[1:] if totals.get(table) != received]


ANNUAL = Schema(
    columns=(
        Column("table", "表", choices=ANNUAL_TABLES),
        Column("item", "项目"),
        Column("count", "数量（件）", "int", minimum=ZERO),
    ),
    key=("table", "item"),
    period_column=None,
    totals=ANNUAL_TOTALS,
    checks=(_tables_agree,),
)


def annual_context(rows: list[dict[str, Any]], period: Period, history: History) -> dict[str, Any]:
    tables = {t: [r for r in rows if r["table"] == t] for t in ANNUAL_TABLES}
    outcomes = [(r["item"], r["count"]) for r in tables["办理结果"] if r["item"] != ANNUAL_TOTALS.marker]
    return {
        "tables": tables,
        "chart": charts.horizontal_bars(f"{period.label}年政府信息公开申请办理结果", outcomes, "件"),
    }


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("fiscal-monthly", (Cadence.MONTHLY,), FISCAL, "fiscal-monthly.html", fiscal_context),
        TaskSpec("land-quarterly", (Cadence.QUARTERLY,), LAND, "land-quarterly.html", land_context),
        TaskSpec("construction-progress", (Cadence.MONTHLY, Cadence.EVENT), CONSTRUCTION,
                 "construction-progress.html", construction_context, per_subject=True),
        TaskSpec("disclosure-annual", (Cadence.ANNUAL,), ANNUAL, "disclosure-annual.html", annual_context),
        TaskSpec("scorecard-monthly", (Cadence.MONTHLY, Cadence.QUARTERLY, Cadence.ANNUAL), SCORECARD,
                 "scorecard-monthly.html", scorecard_context),
    )
}


def task_spec(name: str) -> TaskSpec:
    from gkflow.domain.errors import NotFound

    try:
        return TASKS[name]
    except KeyError:
        raise NotFound(f"no publication task '{name}' (known: {', '.join(sorted(TASKS))})") from None
