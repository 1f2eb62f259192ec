"""`gkflow items validate | list | show`: the catalogue of service items (事项目录)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, plain_data, runtime
from gkflow.domain.errors import InvalidConfig

app = typer.Typer(no_args_is_help=True, help="The catalogue of service items (事项目录)")


@app.command("validate")
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


@app.command("list")
@handles_errors
def items_list(json_: JsonFlag = False) -> None:
    """The items in force, latest version of each."""
    from gkflow.services.views import item_summary

    rt = runtime()
    catalogue = rt.catalogue
    data = plain_data([item_summary(catalogue.latest(code)) for code in catalogue.codes()])
    emit(data, json_, lambda: "\n".join(f"{d['code']:<32} v{d['version']}  {d['name']}" for d in data)
         or "the catalogue is empty: run `gkflow init`")


@app.command("show")
@handles_errors
def items_show(
    code: str,
    version: Annotated[int | None, typer.Option("--version", help="a version number")] = None,
    json_: JsonFlag = False,
) -> None:
    """One item version: limits, states, transitions."""
    from gkflow.services.views import item_detail

    rt = runtime()
    item = rt.catalogue.get(code, version) if version else rt.catalogue.latest(code)
    data = plain_data(item_detail(item))
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
