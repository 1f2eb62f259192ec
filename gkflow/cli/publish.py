"""`gkflow sweep`, `gkflow publish run|backfill|status|triggers`, `gkflow deploy` (DESIGN.md section 6).

Prefect is imported only inside the commands that run flows, so other commands stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, parse_time, runtime
from gkflow.domain.errors import InvalidInput

if TYPE_CHECKING:
    from gkflow.runtime import Runtime

app = typer.Typer(no_args_is_help=True,
                          help="Proactive publication (主动公开) and its ledger (公开台账)")


def _prefect_ready(rt: Runtime) -> None:
    from gkflow.scheduling.prefect_env import configure_prefect_env

    configure_prefect_env(rt.settings.var_dir)


def _outcome_line(o: dict[str, Any]) -> str:
    what = f"{o['task']} {o['subject'] + ' ' if o['subject'] else ''}{o['period']}"
    if o["status"] == "failed":
        return f"FAILED {what} (v{o['version']}): " + "; ".join(o["reasons"])
    late = "" if o["on_time"] in (None, True) else "  LATE"
    edition = f"第{o['edition']}版 (ledger v{o['version']})" if o.get("edition") else f"v{o['version']}"
    return (f"{o['status']} {what} {edition} at {o['published_at']} (due {o['due_on']}){late}"
            + (f"\n  {o['url']}" if o.get("url") else ""))


def _finish(outcomes: list[dict[str, Any]], json_: bool) -> None:
    emit(outcomes, json_, lambda: "\n".join(_outcome_line(o) for o in outcomes))
    if any(o["status"] == "failed" for o in outcomes):
        raise typer.Exit(code=1)


@app.command("run")
@handles_errors
def publish_run(
    task: str,
    period: Annotated[str, typer.Option("--period", help="YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD")],
    project: Annotated[str, typer.Option("--project", help="construction-progress: one project")] = "",
    source: Annotated[str | None, typer.Option("--source", help="file or URL to read instead")] = None,
    json_: JsonFlag = False,
) -> None:
    """Publish one period now (a re-run with changed data is a new version)."""
    from gkflow.publication.tasks import task_spec

    rt = runtime()
    # Bad input is one line with its code, before Prefect's start-up (seconds) or its traceback.
    task_spec(task).parse_period(period)
    _prefect_ready(rt)
    from flows.publication import publish_period_flow, run_flow
    from flows.runtime import use_runtime

    use_runtime(rt)
    _finish(run_flow(publish_period_flow(task, period, project=project, source=source)), json_)


@app.command("backfill")
@handles_errors
def publish_backfill(
    task: str,
    from_: Annotated[str, typer.Option("--from", help="first period")],
    to: Annotated[str, typer.Option("--to", help="last period")],
    project: Annotated[str, typer.Option("--project")] = "",
    json_: JsonFlag = False,
) -> None:
    """Publish every period from --from to --to (already published, unchanged ones stay as they are)."""
    from gkflow.publication.periods import periods_between
    from gkflow.publication.tasks import task_spec

    rt = runtime()
    spec = task_spec(task)
    periods = periods_between(spec.parse_period(from_), spec.parse_period(to))
    _prefect_ready(rt)
    from flows.publication import publish_period_flow, run_flow
    from flows.runtime import use_runtime

    use_runtime(rt)
    outcomes: list[dict[str, Any]] = []
    with typer.progressbar(periods, label=f"{task} {periods[0]}..{periods[-1]}", file=_stderr(),
                           item_show_func=lambda p: str(p) if p else "") as bar:
        for period in bar:
            outcomes += run_flow(publish_period_flow(task, period.label, project=project, trigger="backfill"))
    _finish(outcomes, json_)


def _stderr() -> Any:
    import sys

    return sys.stderr


@app.command("status")
@handles_errors
def publish_status(
    task: Annotated[str | None, typer.Option("--task")] = None,
    json_: JsonFlag = False,
) -> None:
    """Every period: formed, due, published (on time?), failed, superseded — or still due."""
    from gkflow.publication.status import publication_status

    entries = publication_status(runtime(), task=task)

    def text() -> str:
        lines = [f"{'task':<22} {'period':<36} {'status':<11} {'formed_on':<10} {'due_on':<10} "
                 "published_at              on_time"]
        for e in entries:
            period = f"{e['subject']} {e['period']}" if e["subject"] else e["period"]
            status = e["status"] + (f" v{e['version']}" if e["version"] else "")
            flag = {True: "yes", False: "LATE", None: "LATE" if e["late"] else "-"}[e["on_time"]]
            lines.append(f"{e['task']:<22} {period:<36} {status:<11} {e['formed_on']:<10} {e['due_on']:<10} "
                         f"{e['published_at'] or '-':<25} {flag}")
        return "\n".join(lines)

    emit(entries, json_, text)


@app.command("triggers")
@handles_errors
def publish_triggers(json_: JsonFlag = False) -> None:
    """Publish what due milestone triggers (construction.milestone) ask for."""
    rt = runtime()
    _prefect_ready(rt)
    from flows.publication import run_flow
    from flows.runtime import use_runtime
    from flows.triggers import milestone_flow

    use_runtime(rt)
    done = run_flow(milestone_flow())
    emit(done, json_, lambda: f"{len(done)} trigger(s) handled" + "".join(
        f"\n  {d['case_no']}: {d['status']}" for d in done))


@handles_errors
def sweep_command(
    at: Annotated[str | None, typer.Option("--at", help="ISO; local time if naive (default: now)")] = None,
    json_: JsonFlag = False,
) -> None:
    """Raise due yellow/red warnings (红黄牌), each exactly once."""
    rt = runtime()
    moment = parse_time(at, rt)
    _prefect_ready(rt)
    from flows.publication import run_flow
    from flows.runtime import use_runtime
    from flows.sweep import sweep_flow

    use_runtime(rt)
    raised = run_flow(sweep_flow(at=moment.isoformat() if moment else None))
    emit(raised, json_, lambda: f"{len(raised)} warning(s) raised" + "".join(
        f"\n  {w['case_no']}: {w['level']} ({w['scope']}, {w['limit']}, due {w['due_on']})" for w in raised))


@handles_errors
def deploy_command(
    pool: Annotated[str, typer.Option("--pool", help="the process work pool")] = "gkflow",
    json_: JsonFlag = False,
) -> None:
    """Register the flows with config/schedules.yaml's schedules on the Prefect server (PREFECT_API_URL)."""
    import os

    if not os.environ.get("PREFECT_API_URL"):
        raise InvalidInput("PREFECT_API_URL is not set: point it at the Prefect server (…/api)")
    rt = runtime()
    _prefect_ready(rt)
    from gkflow.scheduling.deploy import deploy_all

    deployed = deploy_all(rt.settings, pool=pool)
    emit(deployed, json_, lambda: "\n".join(
        f"{d['name']}: {d['schedule'] or 'no schedule'} -> pool {d['pool']}" for d in deployed)
        + f"\nstart a worker: prefect worker start --pool {pool} --type process")
