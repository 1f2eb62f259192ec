"""`gkflow init` and `gkflow serve`: set up the database and catalogue, run the web app."""

from __future__ import annotations

from typing import Annotated

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime


@handles_errors
def init(json_: JsonFlag = False) -> None:
    """Create/upgrade the database, load the catalogue, and seal the history (keys, first checkpoint).

    On the embedded set-up (SQLite) missing keys are generated into the key dir (owner-only); with
    PostgreSQL they must be configured (`gkflow audit keygen` on one machine, then shared)."""
    from gkflow.services.catalogue_sync import init_database
    from gkflow.services.checkpoints import ensure_first_checkpoint, require_keys
    from gkflow.services.keys import generate_missing_keys
    from gkflow.services.public_links import public_link_warnings
    from gkflow.services.recompute import recompute_from_history

    rt = runtime()
    keys_written = generate_missing_keys(rt.settings) if rt.settings.embedded else []
    require_keys(rt.settings)  # a missing key stops here, before the database is touched
    report = init_database(rt)
    recomputed = recompute_from_history(rt)
    sealed = ensure_first_checkpoint(rt)
    added = [f"{c} v{v}" for c, v in report.added]
    data = {"database": _safe_url(rt.settings.db_url), "added": added,
            "unchanged": report.unchanged, "due_dates_recomputed": len(recomputed),
            "keys_written": keys_written, "first_checkpoint": sealed["number"] if sealed else None}
    warnings = public_link_warnings(rt.settings)
    data["warnings"] = warnings
    emit(data, json_, lambda: "\n".join(warnings + [""]) + (
        f"database ready: {data['database']}\n"
        f"item versions added: {len(report.added)} ({', '.join(added) or '-'}); "
        f"unchanged: {report.unchanged}; due dates recomputed from the history: {len(recomputed)}"
        + "".join(f"\nwrote key {p} (owner-only)" for p in keys_written)
        + (f"\nhistory sealed by checkpoint #{sealed['number']}" if sealed else "")
    ))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@handles_errors
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="web only")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="web processes (uvicorn workers)")] = 1,
    json_: JsonFlag = False,
) -> None:
    """Run the web app in N processes; unless --no-scheduler, one of them (elected) runs the scheduler."""
    from gkflow.services.checkpoints import require_keys
    from gkflow.settings import Settings
    from gkflow.web.server import run_server

    require_keys(Settings())  # no key, no service: the history is never sealed with a default
    run_server(host=host, port=port, with_scheduler=not no_scheduler, workers=workers)
