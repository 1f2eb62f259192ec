"""`gkflow openness list|show|validate`: the standard directory of openness items (政务公开事项标准目录)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime

app = typer.Typer(
    no_args_is_help=True, help="The standard directory of openness items (政务公开事项标准目录)"
)


@app.command("validate")
@handles_errors
def openness_validate(
    path: Annotated[
        Path | None, typer.Argument(help="a directory file or folder (default config/openness)")
    ] = None,
    json_: JsonFlag = False,
) -> None:
    """Check the directory files; every problem as file:line: message."""
    from gkflow.services.openness import validate_directory
    from gkflow.settings import Settings

    directory, problems = validate_directory(Settings(), path)
    versions = sum(len(chain) for chain in directory.versions.values())
    if problems:
        if json_:
            emit({"ok": False, "problems": problems}, True)
        else:
            typer.echo("\n".join(problems), err=True)
        raise typer.Exit(code=1)
    emit(
        {"ok": True, "areas": len(directory.areas), "entries": len(directory.versions), "versions": versions},
        json_,
        f"ok: {len(directory.areas)} areas, {len(directory.versions)} entries, {versions} versions",
    )


@app.command("list")
@handles_errors
def openness_list(
    area: Annotated[str | None, typer.Option("--area", help="an area's file name, e.g. fiscal")] = None,
    department: Annotated[str | None, typer.Option("--department")] = None,
    json_: JsonFlag = False,
) -> None:
    """Every entry with its department, cadence and punctuality so far."""
    from gkflow.services.directory_views import entry_views

    views = entry_views(runtime(), area=area, department=department)

    def text() -> str:
        lines = []
        for v in views:
            p = v.punctuality
            lines.append(
                f"{v.code:<26} {v.area:<8} {v.cadence.kind:<8} {v.department}  "
                f"按时{p.on_time} 逾期{p.published_late + p.open_overdue} 待公开{p.open_not_due}  {v.name}"
            )
        return "\n".join(lines) or "no entries"

    emit([_summary(v) for v in views], json_, text)


def _summary(view: Any) -> dict[str, Any]:
    data: dict[str, Any] = view.model_dump(
        mode="json", include={"code", "name", "area", "department", "version", "effective_from"}
    )
    data["cadence"] = view.cadence.kind
    data["punctuality"] = view.punctuality.model_dump()
    return data


@app.command("show")
@handles_errors
def openness_show(
    code: str,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    json_: JsonFlag = False,
) -> None:
    """One entry's elements, its latest publication and its ledger."""
    from gkflow.services.directory_views import entry_detail

    view, rows = entry_detail(runtime(), code, version=version)
    data = {**view.model_dump(mode="json"), "ledger": [r.model_dump(mode="json") for r in rows]}

    def text() -> str:
        lines = [
            f"{view.code} v{view.version}（{view.effective_from}起）{view.name}",
            f"  领域: {view.area}  主体: {view.department}",
            f"  时限: {view.time_limit.text}（{view.time_limit.rule}）"
            + (
                f"  [本地口径：{view.time_limit.assumption}，{view.local_note}]"
                if view.time_limit.assumption
                else ""
            ),
            f"  方式: {'、'.join(view.channels)}  频次: {view.cadence.text}",
            "  依据: " + "；".join(b.title for b in view.basis),
        ]
        for r in rows[:20]:
            state = f"published {r.published_on}" if r.published_on else "open"
            flag = "LATE" if r.late else ("on time" if r.on_time else "")
            lines.append(f"  {r.subject:<24} formed {r.formed_on} due {r.due_on}  {state} {flag}")
        return "\n".join(lines)

    emit(data, json_, text)
