"""The `gkflow` command (DESIGN.md section 6). Every command takes --json; errors exit non-zero.

Each sub-command group lives in its own module; this one puts them together. Modules import their
heavy dependencies (the database, Prefect, the web server) inside the commands, so `gkflow --help`
and quick commands start fast.
"""

from __future__ import annotations

import json
import sys

import typer

from gkflow.cli import audit, calendar, cases, items, openness, outbox, publish, scorecard, serve, users

app = typer.Typer(no_args_is_help=True, add_completion=False, help="gkflow: 最多跑一次 case engine")
app.add_typer(items.app, name="items")
app.add_typer(cases.app, name="case")
app.add_typer(calendar.app, name="calendar")
app.add_typer(audit.app, name="audit")
app.add_typer(users.app, name="users")
app.add_typer(publish.app, name="publish")
app.add_typer(outbox.app, name="outbox")
app.add_typer(openness.app, name="openness")
app.command("scorecard")(scorecard.scorecard_command)
app.command("init")(serve.init)
app.command("serve")(serve.serve)
app.command("sweep")(publish.sweep_command)
app.command("deploy")(publish.deploy_command)
app.command("inbox")(outbox.inbox)


def main() -> None:
    """Run the command line (exit 130 on Ctrl-C); a usage error is the JSON error shape with --json."""
    try:
        result = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as exc:  # typer's own click: a usage error (bad option, bad value)
        if "--json" in sys.argv[1:] and type(exc).__name__ != "NoArgsIsHelpError":
            message = exc.format_message()
            typer.echo(json.dumps({"error": {"code": "invalid_input", "message": message}},
                                  ensure_ascii=False))
        else:
            exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(result if isinstance(result, int) else 0)
