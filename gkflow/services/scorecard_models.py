"""Read models of the department scorecard: what `gkflow scorecard --json`, the admin page, the
exports and the published scorecard show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class IndicatorScore(_Model):
    """One computed indicator of one department: ``ok`` of ``total`` records met its definition."""

    label: str
    definition: str
    weight: float
    target: float | None
    lower_is_better: bool
    ok: int
    total: int
    value: float | None  # ok / total; None when there was nothing to count
    applicable: bool
    score: float | None  # points, after sharing the weight of indicators that do not apply


class ManualScore(_Model):
    """An annex item scored by an administrator (None: not scored yet for this period)."""

    key: str
    label: str
    max: float
    points: float | None
    entry_id: int | None


class DepartmentScore(_Model):
    rank: int
    department: str
    score: float
    zeroed: bool
    reason: str | None
    computed: float
    manual: float
    bonus: float
    deduction: float
    indicators: dict[str, IndicatorScore]
    manual_items: list[ManualScore]
    nothing_measured: bool  # no computed indicator applied: their points count as full


class Scorecard(_Model):
    period: str
    first_day: date
    last_day: date
    partial: bool  # the period has not ended: figures may still change
    generated_at: datetime
    departments: list[DepartmentScore]
    records: dict[str, dict[str, list[dict[str, Any]]]]  # department -> indicator -> records (drill-down)
    entries: list[dict[str, Any]]  # the manual entries of the period

    def public_dict(self) -> dict[str, Any]:
        """The shape `gkflow scorecard --json` prints: {period, departments: [{department, score,
        zeroed, reason, indicators}]} plus the parts of the score."""
        return {
            "period": self.period,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "partial": self.partial,
            "departments": [
                {
                    "rank": d.rank,
                    "department": d.department,
                    "score": d.score,
                    "zeroed": d.zeroed,
                    "reason": d.reason,
                    "computed": d.computed,
                    "manual": d.manual,
                    "bonus": d.bonus,
                    "deduction": d.deduction,
                    "indicators": {k: i.model_dump() for k, i in d.indicators.items()},
                    "manual_items": {m.key: m.points for m in d.manual_items},
                }
                for d in self.departments
            ],
        }
