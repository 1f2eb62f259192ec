"""`gkflow scorecard --period P`: the department assessment (考核)."""

from __future__ import annotations

from typing import Annotated

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime


@handles_errors
def scorecard_command(
    period: Annotated[
        str, typer.Option("--period", help="a month 2026-11, a quarter 2026-Q4 or a year 2026")
    ],
    json_: JsonFlag = False,
) -> None:
    """Score every department for a month, quarter or year (考核)."""
    from gkflow.services.scorecard import compute_scorecard

    card = compute_scorecard(runtime(), period)
    data = card.public_dict()

    def text() -> str:
        lines = [f"{card.period} ({card.first_day} – {card.last_day})"]
        for d in card.departments:
            flag = f"  ZEROED: {d.reason}" if d.zeroed else ""
            lines.append(f"{d.rank:>3}. {d.department:<28} {d.score:6.1f}{flag}")
        return "\n".join(lines)

    emit(data, json_, text)
