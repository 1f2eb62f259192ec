"""`gkflow audit verify | checkpoint | keygen | rotate-key`: the tamper-evident history (办理记录)."""

from __future__ import annotations

from typing import Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime

app = typer.Typer(no_args_is_help=True, help="The tamper-evident history (办理记录)")


@app.command("verify")
@handles_errors
def audit_verify(json_: JsonFlag = False) -> None:
    """Check every chain, the latest checkpoint, and every case row against its replayed history."""
    from gkflow.services.audit import verify_all

    report = verify_all(runtime())
    data: dict[str, Any] = {"ok": report.ok, "cases": report.cases, "events": report.events,
                            "checkpoint": _checkpoint_summary(report.checkpoint),
                            "unsealed_legacy_events": report.unsealed_legacy_events}
    lines = []
    if report.breaks:
        data["breaks"] = [{"case_no": b.case_no, "seq": b.seq, "reason": b.reason} for b in report.breaks]
        data["first_break"] = data["breaks"][0]
        lines += [f"BROKEN: case {b.case_no} event #{b.seq}: {b.reason}" for b in report.breaks]
    if report.mismatch_count:
        data["mismatches"] = [{"case_no": m.case_no, "field": m.field, "stored": m.stored,
                               "history": m.history} for m in report.mismatches]
        data["mismatch_count"] = report.mismatch_count
        lines += [f"MISMATCH: case {m.case_no} {m.field}: the row says {m.stored}, its history gives "
                  f"{m.history}" for m in report.mismatches]
        if report.mismatch_count > len(report.mismatches):
            lines.append(f"… {report.mismatch_count - len(report.mismatches)} more mismatches")
        lines.append("(a due date that differs after a calendar change: run `gkflow calendar refresh`)")
    if not report.ok:
        emit(data, json_, "\n".join(lines))
        raise typer.Exit(code=1)
    sealed = (f"; checkpoint #{report.checkpoint['number']} holds" if report.checkpoint
              else "; no checkpoint yet (`gkflow audit checkpoint`)")
    legacy = (f"; {report.unsealed_legacy_events} unkeyed events await their first checkpoint"
              if report.unsealed_legacy_events else "")
    emit(data, json_, f"ok: {report.cases} cases, {report.events} events, every chain intact, every "
                      f"case row agrees with its history{sealed}{legacy}")


@app.command("checkpoint")
@handles_errors
def audit_checkpoint(json_: JsonFlag = False) -> None:
    """Write a signed checkpoint of every chain head now and publish its root."""
    from gkflow.services.checkpoints import write_checkpoint

    statement = write_checkpoint(runtime())
    emit(statement, json_, f"checkpoint #{statement['number']}: {statement['cases']} cases, "
                           f"{statement['events']} events, root {statement['root']} "
                           f"({statement['signature']['alg']}, key {statement['signature']['key_id']})")


@app.command("keygen")
@handles_errors
def audit_keygen(json_: JsonFlag = False) -> None:
    """Write the chain key and the checkpoint signing key into the key dir if they are missing."""
    from gkflow.services.keys import generate_missing_keys
    from gkflow.settings import Settings

    settings = Settings()
    written = generate_missing_keys(settings)
    emit({"written": written, "key_dir": str(settings.keys_path)}, json_,
         "\n".join(f"wrote {p} (owner-only)" for p in written)
         or f"keys already present in {settings.keys_path}")


@app.command("rotate-key")
@handles_errors
def audit_rotate_key(json_: JsonFlag = False) -> None:
    """Add a new chain key: it seals new events from now on; older keys still verify."""
    from gkflow.services.keys import rotate_key
    from gkflow.settings import Settings

    key_id = rotate_key(Settings())
    emit({"key_id": key_id}, json_, f"new chain key {key_id}; restart running gkflow processes to use it")


def _checkpoint_summary(statement: dict[str, Any] | None) -> dict[str, Any] | None:
    if statement is None:
        return None
    return {k: statement[k] for k in ("number", "created_at", "cases", "events", "root")}
