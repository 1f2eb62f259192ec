"""`gkflow audit verify`: the tamper-evident history (办理记录)."""

from __future__ import annotations

from typing import Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime

app = typer.Typer(no_args_is_help=True, help="The tamper-evident history (办理记录)")


@app.command("verify")
@handles_errors
def audit_verify(json_: JsonFlag = False) -> None:
    """Check every case's hash chain; exit non-zero at the first broken link."""
    from gkflow.services.audit import verify_all

    report = verify_all(runtime())
    data: dict[str, Any] = {"ok": report.ok, "cases": report.cases, "events": report.events}
    if report.first_break:
        brk = report.first_break
        data["first_break"] = {"case_no": brk.case_no, "seq": brk.seq, "reason": brk.reason}
        emit(data, json_, f"BROKEN: case {brk.case_no} event #{brk.seq}: {brk.reason}")
        raise typer.Exit(code=1)
    emit(data, json_, f"ok: {report.cases} cases, {report.events} events, every chain intact")
