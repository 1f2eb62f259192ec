"""Validation of source rows: required columns, types, duplicates, the period, totals that add up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from gkflow.publication.periods import Period

MAX_REASONS = 20  # a thoroughly broken file should not produce a 10,000-line notice
TOTAL_TOLERANCE = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # the Chinese heading on the published page
    type: str = "str"  # str | int | decimal | date
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None


@dataclass(frozen=True)
class Totals:
    """Rows whose ``marker_column`` is ``marker`` state the sum of the other rows (per ``group_by``)."""

    marker_column: str
    summed: tuple[str, ...]
    group_by: str | None = None
    marker: str = "合计"


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # no two rows may share it
    period_column: str | None = "period"
    totals: Totals | None = None
    # Extra checks on the typed rows; each returns reasons.
    checks: tuple[Callable[[list[dict[str, Any]], Period], list[str]], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class Validated:
    rows: list[dict[str, Any]]
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def _convert(column: Column, raw: Any) -> Any:
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return None
    if column.type == "int":
        return int(text.replace(",", ""))
    if column.type == "decimal":
        value = Decimal(text.replace(",", ""))
        if not value.is_finite():
            raise ValueError(text)
        return value
    if column.type == "date":
        return date.fromisoformat(text)
    return text


_TYPE_WORDS = {"int": "a whole number", "decimal": "a number", "date": "a date (YYYY-MM-DD)"}


def validate(schema: Schema, raw_rows: Sequence[dict[str, Any]], period: Period) -> Validated:
    reasons: list[str] = []
    if not raw_rows:
        return Validated([], ["the source has no rows"])
    present = set(raw_rows[0])
    missing = [c.name for c in schema.columns if c.name not in present]
    if missing:
        return Validated([], [f"missing column(s): {', '.join(missing)}"])
    rows: list[dict[str, Any]] = []
    totals = schema.totals
    for line, raw in enumerate(raw_rows, start=2):  # line 1 is the header
        row: dict[str, Any] = {}
        is_total = totals is not None and str(raw.get(totals.marker_column, "")).strip() == totals.marker
        for column in schema.columns:
            # A total row states sums; its descriptive columns may be empty.
            lenient = is_total and totals is not None and column.name not in (
                *totals.summed, totals.marker_column, totals.group_by, schema.period_column
            )
            try:
                value = _convert(column, raw.get(column.name))
            except (ValueError, InvalidOperation):
                reasons.append(f"row {line}: {column.name} '{raw.get(column.name)}' is not "
                               f"{_TYPE_WORDS[column.type]}")
                continue
            if lenient:
                pass
            elif value is None:
                if column.required:
                    reasons.append(f"row {line}: {column.name} is empty")
            elif column.choices and value not in column.choices:
                reasons.append(f"row {line}: {column.name} '{value}' is not one of "
                               f"{', '.join(column.choices)}")
            elif column.minimum is not None and value < column.minimum:
                reasons.append(f"row {line}: {column.name} {value} is below {column.minimum}")
            elif column.maximum is not None and value > column.maximum:
                reasons.append(f"row {line}: {column.name} {value} is above {column.maximum}")
            row[column.name] = value
        if schema.period_column and row.get(schema.period_column) not in (None, period.label):
            reasons.append(f"row {line}: period {row[schema.period_column]} is not {period.label}")
        rows.append(row)
    reasons += _duplicates(schema, rows)
    if not reasons and schema.totals:
        reasons += _totals(schema.totals, rows)
    if not reasons:
        for check in schema.checks:
            reasons += check(rows, period)
    if len(reasons) > MAX_REASONS:
        reasons = reasons[:MAX_REASONS] + [f"... and {len(reasons) - MAX_REASONS} more problem(s)"]
    return Validated(rows if not reasons else [], reasons)


def _duplicates(schema: Schema, rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[tuple[Any, ...], int] = {}
    reasons = []
    for line, row in enumerate(rows, start=2):
        key = tuple(row.get(k) for k in schema.key)
        if key in seen:
            what = ", ".join(f"{k}={v}" for k, v in zip(schema.key, key, strict=True))
            reasons.append(f"row {line}: duplicate of row {seen[key]} ({what})")
        else:
            seen[key] = line
    return reasons


def _totals(totals: Totals, rows: list[dict[str, Any]]) -> list[str]:
    sums: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    stated: dict[Any, dict[str, Any]] = {}
    for row in rows:
        group = row.get(totals.group_by) if totals.group_by else None
        if row.get(totals.marker_column) == totals.marker:
            stated[group] = row
        else:
            for name in totals.summed:
                sums[group][name] += row.get(name) or Decimal(0)
    reasons = []
    groups = sorted(set(sums) | set(stated), key=str)
    for group in groups:
        label = f" for {group}" if group is not None else ""
        if group not in stated:
            reasons.append(f"no {totals.marker} (total) row{label}")
            continue
        for name in totals.summed:
            expected, given = sums[group][name], stated[group].get(name) or Decimal(0)
            if abs(expected - given) > TOTAL_TOLERANCE:
                reasons.append(f"{totals.marker}{label}: {name} is {given} but the rows add up to {expected}")
    return reasons


def detail_rows(totals: Totals | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if totals is None:
        return rows
    return [r for r in rows if r.get(totals.marker_column) != totals.marker]
