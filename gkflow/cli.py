"""The `gkflow` command (DESIGN.md section 6). Every command takes --json; errors exit non-zero."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from gkflow.domain.errors import GkflowError, InvalidConfig, InvalidInput

app = typer.Typer(no_args_is_help=True, add_completion=False, help="gkflow: 最多跑一次 case engine")
items_app = typer.Typer(no_args_is_help=True, help="The catalogue of service items (事项目录)")
case_app = typer.Typer(no_args_is_help=True, help="Cases (办件)")
calendar_app = typer.Typer(no_args_is_help=True, help="The working-day calendar (工作日)")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident history (办理记录)")
app.add_typer(items_app, name="items")
app.add_typer(case_app, name="case")
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
F = TypeVar("F", bound=Callable[..., Any])


def emit(data: Any, as_json: bool, text: str | Callable[[], str] | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text() if callable(text) else (text if text is not None else _plain(data)))


def _plain(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def handles_errors(func: F) -> F:
    """Turn GkflowError into a clear message (or the JSON error shape) and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return func(*args, **kwargs)
            except (OperationalError, ProgrammingError) as exc:
                raise _database_error(exc) from exc
        except GkflowError as exc:
            if kwargs.get("json_"):
                typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False, default=str))
            else:
                typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _database_error(exc: Exception) -> GkflowError:
    """A missing table means `gkflow init` was not run; anything else is reported as it is."""
    text = str(getattr(exc, "orig", exc))
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return InvalidConfig(f"the database is not initialised ({text.splitlines()[0]}): run `gkflow init`")
    return InvalidConfig(f"database error: {text.splitlines()[0] if text else type(exc).__name__}")


def runtime():  # type: ignore[no-untyped-def]
    from gkflow.runtime import runtime_from_env

    return runtime_from_env()


def parse_fields(values: list[str] | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for value in values or []:
        if "=" not in value:
            raise InvalidInput(f"--field expects key=value, got '{value}'")
        key, _, val = value.partition("=")
        fields[key.strip()] = val
    return fields


def parse_time(value: str | None, rt: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not an ISO date-time: '{value}' (e.g. 2026-02-10T09:30)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=rt.settings.tz)
    return parsed


# -- init -------------------------------------------------------------------------------------


@app.command()
@handles_errors
def init(json_: JsonFlag = False) -> None:
    """Create/upgrade the database and load the catalogue."""
    from gkflow.services.catalogue_sync import init_database
    from gkflow.services.recompute import recompute_provisional

    rt = runtime()
    report = init_database(rt)
    recomputed = recompute_provisional(rt)
    data = {"database": _safe_url(rt.settings.db_url), "added": [f"{c} v{v}" for c, v in report.added],
            "unchanged": report.unchanged, "due_dates_recomputed": len(recomputed)}
    emit(data, json_, lambda: (
        f"database ready: {data['database']}\n"
        f"item versions added: {len(report.added)} ({', '.join(data['added']) or '-'}); "
        f"unchanged: {report.unchanged}; provisional due dates recomputed: {len(recomputed)}"
    ))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- items ------------------------------------------------------------------------------------


@items_app.command("validate")
@handles_errors
def items_validate(
    path: Annotated[Path | None, typer.Argument(help="an item file or folder")] = None,
    json_: JsonFlag = False,
) -> None:
    """Check item files; every problem as file:line: message."""
    from gkflow.catalogue import load_catalogue_files
    from gkflow.settings import Settings

    target = path or Settings().items_dir
    loaded, problems = load_catalogue_files(target)
    if problems:
        if json_:
            typer.echo(json.dumps({"error": {"code": InvalidConfig.code, "message": "invalid items",
                                             "problems": problems}}, ensure_ascii=False))
        else:
            for problem in problems:
                typer.echo(problem, err=True)
            typer.echo(f"{len(problems)} problem(s)", err=True)
        raise typer.Exit(code=1)
    data = {"ok": True, "versions": len(loaded), "items": len({v.item.code for v in loaded})}
    emit(data, json_, f"ok: {data['items']} items, {data['versions']} versions")


def item_summary(item: Any) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "version": item.version}


def item_detail(item: Any) -> dict[str, Any]:
    return {
        "code": item.code, "name": item.name, "version": item.version,
        "effective_from": item.effective_from.isoformat(), "area": item.area,
        "department": item.department, "basis": list(item.basis), "fee": item.fee,
        "channels": list(item.channels), "notice_channels": list(item.notice_channels),
        "statutory_limit": item.statutory_limit.to_dict(),
        "promised_limit": item.promised_limit.to_dict(),
        "materials": [{"name": m.name, "required": m.required, "note": m.note} for m in item.materials],
        "initial_state": item.initial_state,
        "states": [{"name": s.name, "label": s.label, "final": s.final, "stops_clock": s.stops_clock}
                   for s in item.states.values()],
        "transitions": [
            {"name": t.name, "label": t.label, "from": list(t.sources), "to": t.target,
             "roles": list(t.roles), "fields": [f.name for f in t.fields],
             "clock": t.clock.value if t.clock else None, "extend_days": t.extend_days,
             "notices": list(t.notices), "triggers": list(t.triggers)}
            for t in item.transitions.values()
        ],
    }


@items_app.command("list")
@handles_errors
def items_list(json_: JsonFlag = False) -> None:
    """The items in force, latest version of each."""
    rt = runtime()
    catalogue = rt.catalogue
    data = [item_summary(catalogue.latest(code)) for code in catalogue.codes()]
    emit(data, json_, lambda: "\n".join(f"{d['code']:<32} v{d['version']}  {d['name']}" for d in data)
         or "the catalogue is empty: run `gkflow init`")


@items_app.command("show")
@handles_errors
def items_show(
    code: str,
    version: Annotated[int | None, typer.Option("--version", help="a version number")] = None,
    json_: JsonFlag = False,
) -> None:
    """One item version: limits, states, transitions."""
    rt = runtime()
    item = rt.catalogue.get(code, version) if version else rt.catalogue.latest(code)
    data = item_detail(item)
    emit(data, json_, lambda: _item_text(data))


def _item_text(d: dict[str, Any]) -> str:
    lines = [f"{d['code']} v{d['version']} {d['name']} (effective {d['effective_from']})",
             f"department: {d['department']}",
             f"statutory limit: {d['statutory_limit']['days']} {d['statutory_limit']['unit']} days; "
             f"promised: {d['promised_limit']['days']} {d['promised_limit']['unit']} days",
             "states: " + ", ".join(s["name"] + (" (final)" if s["final"] else "") for s in d["states"]),
             "transitions:"]
    lines += [f"  {t['name']}: {' | '.join(t['from'])} -> {t['to']}  roles={','.join(t['roles'])}"
              + (f" clock={t['clock']}" if t["clock"] else "") for t in d["transitions"]]
    return "\n".join(lines)


# -- cases ------------------------------------------------------------------------------------


def _case_text(view: dict[str, Any]) -> str:
    def due(kind: str) -> str:
        value = view.get(f"{kind}_due") or "(clock stopped)"
        return value + (" (provisional)" if view.get(f"{kind}_due_provisional") else "")

    lines = [
        f"{view['case_no']}  {view['item_name']} v{view['item_version']}",
        f"state: {view['state']} ({view['state_label']})  version {view['version']}  clock {view['clock']}",
        f"received: {view['received_at']}  statutory due: {due('statutory')}  "
        f"promised due: {due('promised')}",
    ]
    if view.get("query_code"):
        lines.append(f"query code (shown once, give it to the applicant): {view['query_code']}")
    for w in view.get("warnings", []):
        lines.append(f"warning: {w['level']} on {w['scope']} (due {w['due']})")
    for t in view.get("timeline", []):
        lines.append(f"  #{t['seq']} {t['at']} {t['action']} -> {t['to']} by {t['actor']} ({t['role']})"
                     + (f": {t['comment']}" if t["comment"] else ""))
    return "\n".join(lines)


@case_app.command("submit")
@handles_errors
def case_submit(
    item: str,
    name: Annotated[str, typer.Option("--name", help="applicant name")],
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    id_number: Annotated[str | None, typer.Option("--id-number")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    received_at: Annotated[str | None, typer.Option("--received-at", help="ISO; local time if naive")] = None,
    channel: Annotated[str, typer.Option("--channel", help="intake channel")] = "window",
    field: Annotated[list[str] | None, typer.Option("--field", help="k=v, repeatable")] = None,
    json_: JsonFlag = False,
) -> None:
    """Register a case (收件) and print its case number and query code."""
    from gkflow.services.cases import Applicant, submit_case
    from gkflow.services.views import show_case

    rt = runtime()
    submitted = submit_case(
        rt, item, Applicant(name, phone, id_number, email), received_at=parse_time(received_at, rt),
        intake_channel=channel, fields=parse_fields(field),
    )
    view = show_case(rt, submitted.case_no)
    view.pop("timeline", None)
    view["query_code"] = submitted.query_code
    emit(view, json_, lambda: _case_text(view))


@case_app.command("advance")
@handles_errors
def case_advance(
    case_no: str,
    action: str,
    actor: Annotated[str, typer.Option("--actor", help="user name")],
    role: Annotated[str, typer.Option("--role")],
    department: Annotated[str | None, typer.Option("--department")] = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version")] = None,
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help="k=v, repeatable")] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO; local time if naive")] = None,
    json_: JsonFlag = False,
) -> None:
    """Fire one transition (办理环节)."""
    from gkflow.domain.cases import Actor
    from gkflow.services.cases import fire
    from gkflow.services.views import show_case

    rt = runtime()
    fire(rt, case_no, action, Actor(actor, role, department), fields=parse_fields(field),
         expected_version=expected_version, comment=comment, now=parse_time(at, rt))
    view = show_case(rt, case_no)
    emit(view, json_, lambda: _case_text(view))


@case_app.command("show")
@handles_errors
def case_show(case_no: str, json_: JsonFlag = False) -> None:
    """State, due dates, warnings and timeline."""
    from gkflow.services.views import show_case

    view = show_case(runtime(), case_no)
    emit(view, json_, lambda: _case_text(view))


# -- calendar ---------------------------------------------------------------------------------


@calendar_app.command("add-days")
@handles_errors
def calendar_add_days(
    start: Annotated[str, typer.Argument(metavar="DATE")],
    n: Annotated[int, typer.Argument(metavar="N")],
    calendar_days: Annotated[bool, typer.Option("--calendar-days", help="count calendar days")] = False,
    json_: JsonFlag = False,
) -> None:
    """The due date N working (or calendar) days after DATE."""
    from gkflow.calendar_source import load_calendar
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
    emit(data, json_, data["date"] + ("  (provisional: the year's official schedule is not loaded)"
                                      if due.provisional else ""))


@calendar_app.command("refresh")
@handles_errors
def calendar_refresh(json_: JsonFlag = False) -> None:
    """Recompute provisional due dates now that more official schedules may be loaded."""
    from gkflow.services.recompute import recompute_provisional

    changed = recompute_provisional(runtime())
    data = {"changed": changed}
    emit(data, json_, f"{len(changed)} case(s) got new due dates"
         + "".join(f"\n  {c['case_no']}: {c['before']} -> {c['after']}" for c in changed))


# -- audit ------------------------------------------------------------------------------------


@audit_app.command("verify")
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


# -- serve ------------------------------------------------------------------------------------


@app.command()
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


# -- extensions: each part registers its own sub-commands here -------------------------------


def _register_extensions() -> None:
    """Sub-commands owned by other parts (outbox/inbox, sweep/publish/deploy, users …)."""
    import importlib

    for module in CLI_EXTENSION_MODULES:
        importlib.import_module(module).register(app)


CLI_EXTENSION_MODULES: list[str] = ["gkflow.cli_users", "gkflow.cli_publish", "gkflow.cli_outbox"]
_register_extensions()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
