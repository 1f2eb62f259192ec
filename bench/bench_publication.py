"""Publication benchmarks: one month of 10,000 fiscal rows, Prefect's overhead per run, a 24-month
back-fill. Each figure's ceiling is measured in the same run:

- publish.fiscal_10k: fetch + validate + render + publish + ledger for 10,000 rows, against the same
  rows rendered by a bare Jinja2 loop (no validation, no files, no ledger);
- prefect.overhead: an empty flow run (async, heartbeats on as in production) against calling the
  same function without Prefect;
- publish.backfill_24: 24 months published through the flow, against the same 24 months published
  by the plain pipeline without Prefect.

Run: `python -m bench.bench_publication` (one JSON line per figure).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS = 10_000


def _figure(name: str, value: float, unit: str, ceiling: float) -> dict[str, Any]:
    """Times: lower is better, so the ratio is ceiling / value (1.0 = as fast as the ceiling), as in
    every other figure of bench/."""
    # Significant digits, not decimals: a bare call takes ~1e-7 s and must not round to 0.
    return {"figure": name, "value": float(f"{value:.4g}"), "unit": unit, "ceiling": float(f"{ceiling:.4g}"),
            "ratio": float(f"{ceiling / value:.4g}") if value else None}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def fiscal_rows(period: str, n: int) -> list[dict[str, str]]:
    """``n`` detail rows split between revenue and expenditure, plus the two total rows."""
    rows, totals = [], {"收入": [0, 0], "支出": [0, 0]}
    for i in range(n):
        kind = "收入" if i % 2 == 0 else "支出"
        month_cents, ytd_cents = 10_000 + (i * 37) % 90_000, 100_000 + (i * 53) % 900_000
        totals[kind][0] += month_cents
        totals[kind][1] += ytd_cents
        rows.append({"period": period, "kind": kind, "code": f"{2010000 + i}", "name": f"科目{i:05d}",
                     "amount_month": f"{month_cents / 100:.2f}", "amount_ytd": f"{ytd_cents / 100:.2f}",
                     "budget": f"{ytd_cents / 50:.2f}"})
    for kind, (month, ytd) in totals.items():
        rows.append({"period": period, "kind": kind, "code": "合计", "name": f"{kind}合计",
                     "amount_month": f"{month / 100:.2f}", "amount_ytd": f"{ytd / 100:.2f}", "budget": ""})
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, Any]]:
    from bench.common import no_options

    no_options("publication", args)
    n_rows, runs, n_months = (100, 2, 2) if tiny else (ROWS, 10, 24)
    work = Path(tempfile.mkdtemp(prefix="gkflow-bench-publication-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    from gkflow.scheduling.prefect_env import configure_prefect_env

    configure_prefect_env(work / "var")
    from jinja2 import Environment

    from gkflow.clock import FixedClock
    from gkflow.publication.service import publish_period
    from gkflow.runtime import Runtime
    from gkflow.services.catalogue_sync import init_database
    from gkflow.settings import Settings

    settings = Settings(var_dir=work / "var", database_url=f"sqlite:///{work / 'gkflow.db'}",
                        config_dir=ROOT / "config")
    rt = Runtime(settings, FixedClock(datetime(2026, 11, 10, 2, 0, tzinfo=UTC)))
    init_database(rt)
    figures = []

    # -- publish.fiscal_10k ------------------------------------------------------------------
    source = write_csv(work / "fiscal-10k.csv", fiscal_rows("2026-10", n_rows))
    elapsed, outcome = _timed(lambda: publish_period(rt, "fiscal-monthly", "2026-10", source=str(source)))
    if outcome.status != "published":
        raise RuntimeError(f"the 10k publication failed: {outcome.reasons}")
    bare = Environment(autoescape=True).from_string(
        "<table>{% for r in rows %}<tr><td>{{ r.code }}</td><td>{{ r.name }}</td><td>{{ r.amount_month }}"
        "</td><td>{{ r.amount_ytd }}</td><td>{{ r.budget }}</td></tr>{% endfor %}</table>")

    def bare_render() -> int:
        with source.open(encoding="utf-8") as f:
            return len(bare.render(rows=list(csv.DictReader(f))))

    ceiling, _ = _timed(bare_render)
    figures.append(_figure("publish.fiscal_10k", elapsed, "s", ceiling))

    # -- prefect.overhead ---------------------------------------------------------------------
    from prefect import flow

    from flows.publication import run_flow
    from flows.runtime import use_runtime

    def nothing() -> int:
        return 1

    empty_flow = flow(name="bench-empty")(_async(nothing))
    run_flow(empty_flow())  # the first run starts Prefect's local API server: not overhead per run
    elapsed, _ = _timed(lambda: [run_flow(empty_flow()) for _ in range(runs)])
    bare_elapsed, _ = _timed(lambda: [nothing() for _ in range(runs)])
    figures.append(_figure("prefect.overhead", elapsed / runs, "s/run", bare_elapsed / runs))

    # -- publish.backfill_24 ------------------------------------------------------------------
    from flows.publication import publish_period_flow

    use_runtime(rt)
    months = [f"{2024 + i // 12}-{i % 12 + 1:02d}" for i in range(n_months)]
    files = {m: write_csv(work / f"fiscal-{m}.csv", fiscal_rows(m, 40)) for m in months}
    elapsed, outcomes = _timed(lambda: [
        run_flow(publish_period_flow("fiscal-monthly", m, source=str(files[m]), trigger="backfill"))[0]
        for m in months])
    if any(o["status"] != "published" for o in outcomes):
        raise RuntimeError("the back-fill did not publish every month")
    direct_rt = Runtime(Settings(var_dir=work / "var2", database_url=f"sqlite:///{work / 'direct.db'}",
                                 config_dir=ROOT / "config"), rt.clock)
    init_database(direct_rt)
    ceiling, _ = _timed(lambda: [publish_period(direct_rt, "fiscal-monthly", m, source=str(files[m]))
                                 for m in months])
    figures.append(_figure("publish.backfill_24", elapsed, "s", ceiling) | {"months": n_months})
    use_runtime(None)
    return figures


def _async(fn: Callable[[], Any]) -> Callable[[], Any]:
    async def wrapper() -> Any:
        return fn()

    wrapper.__name__ = fn.__name__
    return wrapper


if __name__ == "__main__":
    for figure in run():
        print(json.dumps(figure, ensure_ascii=False))
