"""`config/scorecard.yaml`: the scorecard's indicators (weights, targets, written definitions), the
annex's manual items and the caps on bonus and deduction, checked with ``file:line`` problems."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gkflow.config.yaml_lines import Problems, line_of, load_yaml_with_lines
from gkflow.domain.errors import InvalidConfig
from gkflow.settings import Settings

SCORECARD_FILE = "scorecard.yaml"
TOTAL = Decimal(100)
# The indicators gkflow can compute from its own records (services/scorecard_indicators.py).
INDICATORS = (
    "statutory_on_time",
    "promised_on_time",
    "overdue_open",
    "satisfaction",
    "rectifications_on_time",
    "info_requests_on_time",
    "directory_on_time",
    "notices_delivered",
)
INDICATOR_KEYS = {"label", "weight", "target", "lower_is_better", "definition", "item", "answer_state"}


@dataclass(frozen=True)
class IndicatorSpec:
    key: str
    label: str
    weight: Decimal
    target: Decimal
    lower_is_better: bool
    definition: str
    item: str = "gov-info-request"
    answer_state: str = "decided"


@dataclass(frozen=True)
class ManualSpec:
    key: str
    label: str
    max: Decimal


@dataclass(frozen=True)
class ScorecardConfig:
    indicators: tuple[IndicatorSpec, ...]
    manual: tuple[ManualSpec, ...]
    bonus_max: Decimal
    deduction_max: Decimal

    @property
    def computed_weight(self) -> Decimal:
        """The points the computed indicators carry together."""
        return sum((i.weight for i in self.indicators), Decimal(0))

    def manual_item(self, key: str) -> ManualSpec | None:
        """The annex item ``key``, or None."""
        return next((m for m in self.manual if m.key == key), None)


def _number(
    raw: Any, key: str, problems: Problems, *, least: Decimal = Decimal(0), most: Decimal | None = None
) -> Decimal | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    try:
        number = (
            Decimal(str(value)) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    except InvalidOperation:
        number = None
    if number is None or number < least or (most is not None and number > most):
        bound = f" from {least} to {most}" if most is not None else f" >= {least}"
        problems.add(line_of(raw, key), f"{key} must be a number{bound}, got {value!r}")
        return None
    return number


def _indicator(key: str, raw: Any, problems: Problems) -> IndicatorSpec | None:
    if key not in INDICATORS:
        problems.add(line_of(raw), f"indicators: unknown indicator '{key}' (known: {', '.join(INDICATORS)})")
        return None
    if not isinstance(raw, dict):
        problems.add(line_of(raw), f"indicators: '{key}' must be a mapping")
        return None
    for name in raw:
        if name not in INDICATOR_KEYS:
            problems.add(line_of(raw, name), f"indicator '{key}': unknown key '{name}'")
    weight = _number(raw, "weight", problems)
    lower = bool(raw.get("lower_is_better", False))
    target = Decimal(0) if lower else _number(raw, "target", problems, least=Decimal("0.01"), most=Decimal(1))
    for text in ("label", "definition"):
        if not isinstance(raw.get(text), str) or not raw[text].strip():
            problems.add(line_of(raw), f"indicator '{key}': needs a {text} (the written definition is shown)")
    if weight is None or target is None or problems.items:
        return None
    return IndicatorSpec(
        key,
        raw["label"].strip(),
        weight,
        target,
        lower,
        raw["definition"].strip(),
        str(raw.get("item", "gov-info-request")),
        str(raw.get("answer_state", "decided")),
    )


def load_scorecard_config(settings: Settings, path: Path | None = None) -> ScorecardConfig:
    """The scorecard's configuration; InvalidConfig naming every problem as file:line."""
    path = path or settings.config_dir / SCORECARD_FILE
    if not path.is_file():
        raise InvalidConfig(f"{path}: missing (the scorecard's weights and targets are configured there)")
    problems = Problems(str(path))
    data = load_yaml_with_lines(path, problems)
    if not isinstance(data, dict):
        problems.add(1, "expected a mapping {indicators, manual, bonus, deduction}")
        raise InvalidConfig("; ".join(problems.items), problems=problems.items)
    indicators = []
    raw_indicators = data.get("indicators") or {}
    for key, raw in raw_indicators.items() if isinstance(raw_indicators, dict) else []:
        spec = _indicator(str(key), raw, problems)
        if spec:
            indicators.append(spec)
    manual = []
    raw_manual = data.get("manual") or {}
    for key, raw in raw_manual.items() if isinstance(raw_manual, dict) else []:
        most = _number(raw, "max", problems)
        label = raw.get("label") if isinstance(raw, dict) else None
        if not isinstance(label, str) or not label.strip():
            problems.add(line_of(raw_manual, key), f"manual item '{key}' needs a label")
        elif most is not None:
            manual.append(ManualSpec(str(key), label.strip(), most))
    bonus = _number(data.get("bonus") or {}, "max", problems)
    deduction = _number(data.get("deduction") or {}, "max", problems)
    total = sum((i.weight for i in indicators), Decimal(0)) + sum((m.max for m in manual), Decimal(0))
    if not problems.items and total != TOTAL:
        problems.add(
            line_of(data, "indicators"), f"indicator weights and manual maxima add up to {total}, not {TOTAL}"
        )
    if problems.items or bonus is None or deduction is None:
        raise InvalidConfig("; ".join(problems.items), problems=problems.items)
    return ScorecardConfig(tuple(indicators), tuple(manual), bonus, deduction)
