"""The department scorecard (部门考核, the plan's annex) for a month, a quarter or a year.

score = the computed indicators (``scorecard_indicators``; weights from config/scorecard.yaml, shared
among the indicators that apply) + the annex's manual items (the latest entry per item) + bonus −
deduction (each capped), kept within 0 … 100. A department whose records fail the audit — a case it
handled that was active in the period has a broken hash chain, or its own scorecard chain is broken
— scores 0 for the period, with the reason (直接归零项：弄虚作假).
"""

from __future__ import annotations

from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from gkflow.db.case_rows import cases_t
from gkflow.domain.errors import InvalidInput
from gkflow.publication.periods import Cadence, Period, parse_period
from gkflow.runtime import Runtime
from gkflow.services.audit import verify_all
from gkflow.services.openness import load_directory
from gkflow.services.scorecard_config import IndicatorSpec, ScorecardConfig, load_scorecard_config
from gkflow.services.scorecard_entries import ManualEntry, broken_chains, entries_for
from gkflow.services.scorecard_indicators import HANDLER, Measure, Window, compute_measures
from gkflow.services.scorecard_models import DepartmentScore, IndicatorScore, ManualScore, Scorecard

ONE = Decimal(1)
TENTH = Decimal("0.1")


def parse_scorecard_period(text: str) -> Period:
    """A month (2026-11), a quarter (2026-Q4) or a year (2026)."""
    for cadence in (Cadence.MONTHLY, Cadence.QUARTERLY, Cadence.ANNUAL):
        try:
            return parse_period(cadence, text)
        except InvalidInput:
            continue
    raise InvalidInput(
        f"'{text}' is not a period: a month (2026-11), a quarter (2026-Q4) or a year (2026)",
        fields=["period"],
    )


def _fraction(spec: IndicatorSpec, measure: Measure) -> Decimal | None:
    if not measure.total:
        return None
    share = Decimal(measure.ok) / Decimal(measure.total)
    if spec.lower_is_better:
        return ONE - share
    return min(ONE, share / spec.target)


def _zeroing(rt: Runtime, w: Window) -> dict[str, str]:
    """Department -> why its records fail verification for this period."""
    reasons: dict[str, str] = {}
    report = verify_all(rt)
    failures = [(b.case_no, f"第{b.seq}条：{b.reason}") for b in report.breaks]
    failures += [(m.case_no, f"办件记录与办理记录不符：{m.field}") for m in report.mismatches]
    numbers = [case_no for case_no, _ in failures]
    if numbers:
        query = select(
            cases_t.c.case_no, HANDLER.label("dept"), cases_t.c.received_at, cases_t.c.closed_at
        ).where(cases_t.c.case_no.in_(numbers))
        with rt.engine.connect() as conn:
            cases = {no: (dept, received, closed) for no, dept, received, closed in conn.execute(query)}
        for case_no, why in failures:
            if case_no not in cases:
                continue
            dept, received, closed = cases[case_no]
            received = received if received.tzinfo else received.replace(tzinfo=UTC)
            closed = closed if closed is None or closed.tzinfo else closed.replace(tzinfo=UTC)
            if received < w.end and (closed is None or closed >= w.start):
                reasons.setdefault(dept, f"办件 {case_no} 的办理记录校验失败（{why}）")
    for dept, brk in broken_chains(rt).items():
        reasons.setdefault(dept, f"考核评分记录校验失败（第{brk.seq}条：{brk.reason}）")
    return reasons


def _manual(
    config: ScorecardConfig, entries: list[ManualEntry]
) -> tuple[list[ManualScore], Decimal, Decimal]:
    latest: dict[str, ManualEntry] = {}
    bonus = deduction = Decimal(0)
    for entry in entries:  # in chain order: a later score of an item replaces the earlier one
        if entry.kind == "manual":
            latest[entry.item] = entry
        elif entry.kind == "bonus":
            bonus += entry.points
        else:
            deduction += entry.points
    scores = [
        ManualScore(
            key=m.key,
            label=m.label,
            max=float(m.max),
            points=float(latest[m.key].points) if m.key in latest else None,
            entry_id=latest[m.key].id if m.key in latest else None,
        )
        for m in config.manual
    ]
    return scores, min(bonus, config.bonus_max), min(deduction, config.deduction_max)


def _round(value: Decimal) -> float:
    return float(value.quantize(TENTH, rounding=ROUND_HALF_UP))


def _department(
    config: ScorecardConfig,
    department: str,
    measures: dict[str, Measure],
    entries: list[ManualEntry],
    zeroed_reason: str | None,
) -> DepartmentScore:
    fractions = {spec.key: _fraction(spec, measures.get(spec.key, Measure())) for spec in config.indicators}
    applicable = sum((s.weight for s in config.indicators if fractions[s.key] is not None), Decimal(0))
    scale = config.computed_weight / applicable if applicable else Decimal(0)
    indicators: dict[str, IndicatorScore] = {}
    computed = Decimal(0) if applicable else config.computed_weight
    for spec in config.indicators:
        measure, fraction = measures.get(spec.key, Measure()), fractions[spec.key]
        points = spec.weight * scale * fraction if fraction is not None else None
        computed += points or 0
        indicators[spec.key] = IndicatorScore(
            label=spec.label,
            definition=spec.definition,
            weight=float(spec.weight),
            target=None if spec.lower_is_better else float(spec.target),
            lower_is_better=spec.lower_is_better,
            ok=measure.ok,
            total=measure.total,
            value=measure.value,
            applicable=fraction is not None,
            score=_round(points) if points is not None else None,
        )
    manual, bonus, deduction = _manual(config, entries)
    manual_total = sum((Decimal(str(m.points)) for m in manual if m.points is not None), Decimal(0))
    total = max(Decimal(0), min(Decimal(100), computed + manual_total + bonus - deduction))
    return DepartmentScore(
        rank=0,
        department=department,
        score=0.0 if zeroed_reason else _round(total),
        zeroed=bool(zeroed_reason),
        reason=zeroed_reason,
        computed=_round(computed),
        manual=_round(manual_total),
        bonus=_round(bonus),
        deduction=_round(deduction),
        indicators=indicators,
        manual_items=manual,
        nothing_measured=not applicable,
    )


def compute_scorecard(rt: Runtime, period_text: str, *, with_records: bool = False) -> Scorecard:
    """Every department's score for the period, ranked; ``with_records`` keeps the drill-down."""
    config = load_scorecard_config(rt.settings)
    period = parse_scorecard_period(period_text)
    w = Window.of(rt, period.first_day, period.last_day)
    if period.first_day > w.today:
        raise InvalidInput(f"{period.label} has not started yet", fields=["period"])
    measures = compute_measures(rt, config, w)
    entries = entries_for(rt, period.label)
    zeroed = _zeroing(rt, w)
    departments = (
        set(measures) | set(load_directory(rt.settings).departments()) | {e.department for e in entries}
    )
    departments |= {rt.catalogue.latest(code).department for code in rt.catalogue.codes()}
    scores = [
        _department(config, d, measures.get(d, {}), [e for e in entries if e.department == d], zeroed.get(d))
        for d in sorted(departments)
    ]
    scores.sort(key=lambda s: (s.zeroed, -s.score, s.department))
    ranked = [s.model_copy(update={"rank": n}) for n, s in enumerate(scores, 1)]
    records = (
        {d: {k: [r.__dict__ for r in m.records] for k, m in by_key.items()} for d, by_key in measures.items()}
        if with_records
        else {}
    )
    return Scorecard(
        period=period.label,
        first_day=period.first_day,
        last_day=period.last_day,
        partial=w.today <= period.last_day,
        generated_at=rt.now(),
        departments=ranked,
        records=records,
        entries=[e.__dict__ for e in entries],
    )
