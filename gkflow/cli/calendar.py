"""`gkflow calendar add-days | refresh`: the working-day calendar (工作日)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime
from gkflow.domain.errors import InvalidInput

app = typer.Typer(no_args_is_help=True, help="The working-day calendar (工作日)")


@app.command("add-days")
@handles_errors
def calendar_add_days(
    start: Annotated[str, typer.Argument(metavar="DATE")],
    n: Annotated[int, typer.Argument(metavar="N")],
    calendar_days: Annotated[bool, typer.Option("--calendar-days", help="count calendar days")] = False,
    json_: JsonFlag = False,
) -> None:
    """The due date N working (or calendar) days after DATE."""
    from gkflow.config.calendar import load_calendar
    from gkflow.settings import Settings

    try:
        day = date.fromisoformat(start)
    except ValueError:
        raise InvalidInput(f"not a date: '{start}' (YYYY-MM-DD)") from None
    if n < 0:
        raise InvalidInput("N must be >= 0")
    cal = load_calendar(Settings().config_dir)
    due = cal.add_calendar_days(day, n) if calendar_days else cal.add_working_days(day, n)
    data = {"date": due.date.isoformat(), "provisional": due.provisional}
    emit(data, json_, due.date.isoformat() + ("  (provisional: the year's official schedule is not loaded)"
                                              if due.provisional else ""))


@app.command("refresh")
@handles_errors
def calendar_refresh(json_: JsonFlag = False) -> None:
    """Recompute provisional due dates now that more official schedules may be loaded."""
    from gkflow.services.recompute import recompute_provisional

    changed = recompute_provisional(runtime())
    data = {"changed": changed}
    emit(data, json_, f"{len(changed)} case(s) got new due dates"
         + "".join(f"\n  {c['case_no']}: {c['before']} -> {c['after']}" for c in changed))
