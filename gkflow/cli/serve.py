"""`gkflow init` and `gkflow serve`: set up the database and catalogue, run the web app."""

from __future__ import annotations

from typing import Annotated

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime


@handles_errors
def init(json_: JsonFlag = False) -> None:
    """Create/upgrade the database and load the catalogue."""
    from gkflow.services.catalogue_sync import init_database
    from gkflow.services.recompute import recompute_provisional

    rt = runtime()
    report = init_database(rt)
    recomputed = recompute_provisional(rt)
    added = [f"{c} v{v}" for c, v in report.added]
    data = {"database": _safe_url(rt.settings.db_url), "added": added,
            "unchanged": report.unchanged, "due_dates_recomputed": len(recomputed)}
    from gkflow.services.public_links import public_link_warnings

    warnings = public_link_warnings(rt.settings)
    data["warnings"] = warnings
    emit(data, json_, lambda: "\n".join(warnings + [""]) + (
        f"database ready: {data['database']}\n"
        f"item versions added: {len(report.added)} ({', '.join(added) or '-'}); "
        f"unchanged: {report.unchanged}; provisional due dates recomputed: {len(recomputed)}"
    ))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@handles_errors
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="web only")] = False,
    json_: JsonFlag = False,
) -> None:
    """Run the web app (and, unless --no-scheduler, the embedded scheduler)."""
    from gkflow.web.server import run_server

    run_server(host=host, port=port, with_scheduler=not no_scheduler)
