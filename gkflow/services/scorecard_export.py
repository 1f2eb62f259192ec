"""The scorecard as files: CSV (UTF-8 with BOM, opens in Excel) and XLSX (openpyxl) with the
ranking and, per department and indicator, the records behind every number."""

from __future__ import annotations

import csv
import io
from typing import Any

from gkflow.services.scorecard_models import Scorecard

HEAD = ["排名", "部门", "总分", "是否归零", "归零原因", "计算指标得分", "考核项目得分", "加分", "减分"]


def ranking_rows(card: Scorecard) -> list[list[Any]]:
    """One row per department: rank, scores, and each indicator's share (ok/total)."""
    keys = list(card.departments[0].indicators) if card.departments else []
    head = HEAD + [card.departments[0].indicators[k].label for k in keys] if card.departments else HEAD
    rows: list[list[Any]] = [head]
    for d in card.departments:
        shares = [f"{i.ok}/{i.total}" if i.applicable else "不适用" for i in (d.indicators[k] for k in keys)]
        rows.append(
            [
                d.rank,
                d.department,
                d.score,
                "是" if d.zeroed else "否",
                d.reason or "",
                d.computed,
                d.manual,
                d.bonus,
                d.deduction,
                *shares,
            ]
        )
    return rows


def _safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def scorecard_csv(card: Scorecard) -> bytes:
    """The ranking as CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"考核期间 {card.period}（{card.first_day} 至 {card.last_day}）"])
    for row in ranking_rows(card):
        writer.writerow([_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def scorecard_xlsx(card: Scorecard) -> bytes:
    """The ranking and the records behind it as an Excel workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "排名"
    sheet.append([f"考核期间 {card.period}（{card.first_day} 至 {card.last_day}）"])
    for n, row in enumerate(ranking_rows(card)):
        sheet.append([_safe(v) for v in row])
        if n == 0:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    sheet.column_dimensions["B"].width = 36
    detail = book.create_sheet("明细")
    detail.append(["部门", "指标", "记录", "说明", "是否达标", "详情"])
    labels = {k: i.label for d in card.departments for k, i in d.indicators.items()}
    for department, by_key in sorted(card.records.items()):
        for key, records in by_key.items():
            for r in records:
                detail.append(
                    [
                        _safe(department),
                        labels.get(key, key),
                        _safe(r["ref"]),
                        _safe(r["label"]),
                        "是" if r["ok"] else "否",
                        _safe(r["detail"]),
                    ]
                )
    entries = book.create_sheet("评分记录")
    entries.append(["部门", "序号", "类别", "项目", "分值", "理由", "佐证", "评分人", "时间", "哈希"])
    for e in card.entries:
        entries.append(
            [
                _safe(e["department"]),
                e["seq"],
                e["kind"],
                e["item"],
                float(e["points"]),
                _safe(e["reason"]),
                _safe(e["evidence"] or (e["evidence_name"] or "")),
                e["actor"],
                e["at"].isoformat(timespec="seconds"),
                e["hash"],
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _share(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def publication_rows(card: Scorecard) -> list[dict[str, str]]:
    """The rows the published scorecard (task scorecard-monthly) validates and renders."""
    from gkflow.publication.scorecard_task import SHARES

    rows = []
    for d in card.departments:
        row = {
            "period": card.period,
            "rank": str(d.rank),
            "department": d.department,
            "score": f"{d.score:.1f}",
            "zeroed": "是" if d.zeroed else "否",
            "reason": d.reason or "",
            "computed": f"{d.computed:.1f}",
            "manual": f"{d.manual:.1f}",
            "bonus": f"{d.bonus:.1f}",
            "deduction": f"{d.deduction:.1f}",
        }
        for key, _label in SHARES:
            indicator = d.indicators.get(key)
            row[key] = _share(indicator.value) if indicator and indicator.applicable else ""
        rows.append(row)
    return rows
